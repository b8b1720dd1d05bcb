/**
 * templates/deployment.yaml. Each writablePaths entry gets an emptyDir named
 * writable-N, unless writablePathOverrides leaves it unmounted (the image's
 * own files there stay visible, read-only) or mounts a PVC there. User data only ever arrives through values and
 * leaves through `quote` (orbit.quotedWords, orbit.quotedMap) or `toYaml`. Numbers go through `int` because helm
 * reads values.yaml numbers as float64, which print as 1e+06 past six digits.
 */
export const DEPLOYMENT_YAML = `{{- include "orbit.checkPorts" . }}
{{- include "orbit.checkWritablePathOverrides" . }}
{{- range $key, $value := .Values.podLabels }}
{{- if hasKey $.Values.commonLabels $key }}
{{- fail (printf "podLabels: %q is a commonLabels key already; set it there (it labels the pods too)" $key) }}
{{- end }}
{{- end }}
{{- range $hook, $handler := .Values.lifecycle }}
{{- if and (kindIs "map" $handler) (hasKey $handler "sleep") }}
{{- if gt ($handler.sleep.seconds | int) ($.Values.terminationGracePeriodSeconds | int) }}
{{- fail (printf "lifecycle.%s.sleep.seconds (%d) must not exceed terminationGracePeriodSeconds (%d): the API server refuses the Deployment" $hook ($handler.sleep.seconds | int) ($.Values.terminationGracePeriodSeconds | int)) }}
{{- end }}
{{- end }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "orbit.fullname" . | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
  {{- with .Values.commonAnnotations }}
  annotations:
    {{- include "orbit.quotedMap" . | nindent 4 }}
  {{- end }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount | int }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit | int }}
  selector:
    matchLabels:
      {{- include "orbit.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- /* The env checksum rolls the pods when only the ConfigMap changed. */}}
      {{- $annotations := merge (dict "checksum/env" (.Values.env | toJson | sha256sum) "orbit/image-uid" .Values.imageUID) .Values.podAnnotations .Values.commonAnnotations }}
      annotations:
        {{- include "orbit.quotedMap" $annotations | nindent 8 }}
      labels:
        {{- include "orbit.labels" . | nindent 8 }}
        {{- with .Values.image.tag }}
        orbit/image-tag: {{ . | quote }}
        {{- end }}
        {{- with .Values.podLabels }}
        {{- include "orbit.quotedMap" . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "orbit.serviceAccountName" . | quote }}
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds | int }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      {{- with .Values.runtimeClassName }}
      runtimeClassName: {{ . | quote }}
      {{- end }}
      containers:
        - name: app
          image: {{ printf "%s@%s" .Values.image.repository .Values.image.digest | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy | quote }}
          {{- with .Values.command }}
          command:
            {{- include "orbit.quotedWords" . | nindent 12 }}
          {{- end }}
          {{- with .Values.args }}
          args:
            {{- include "orbit.quotedWords" . | nindent 12 }}
          {{- end }}
          {{- with .Values.workingDir }}
          workingDir: {{ . | quote }}
          {{- end }}
          {{- if .Values.containerPort.enabled }}
          ports:
            - name: app
              containerPort: {{ .Values.containerPort.port | int }}
              protocol: {{ .Values.containerPort.protocol | quote }}
            {{- range .Values.extraPorts }}
            - name: {{ .name | quote }}
              containerPort: {{ .containerPort | int }}
              protocol: {{ .protocol | quote }}
            {{- end }}
          {{- end }}
          envFrom:
            - configMapRef:
                name: {{ printf "%s-env" (include "orbit.fullname" .) | quote }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          {{- with .Values.lifecycle }}
          lifecycle:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if .Values.probes.enabled }}
          {{- with .Values.probes.startup }}
          startupProbe:
            {{- include "orbit.probe" . | nindent 12 }}
          {{- end }}
          {{- with .Values.probes.liveness }}
          livenessProbe:
            {{- include "orbit.probe" . | nindent 12 }}
          {{- end }}
          {{- with .Values.probes.readiness }}
          readinessProbe:
            {{- include "orbit.probe" . | nindent 12 }}
          {{- end }}
          {{- end }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- range $index, $path := .Values.writablePaths }}
            {{- $override := dict }}
            {{- range $.Values.writablePathOverrides }}{{ if eq .path $path }}{{ $override = . }}{{ end }}{{ end }}
            {{- if not $override.unmounted }}
            - name: {{ printf "writable-%d" $index | quote }}
              mountPath: {{ $path | quote }}
            {{- end }}
            {{- end }}
      {{- if .Values.affinity }}
      affinity:
        {{- toYaml .Values.affinity | nindent 8 }}
      {{- else if .Values.podAntiAffinity.enabled }}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: {{ .Values.podAntiAffinity.weight | int }}
              podAffinityTerm:
                topologyKey: {{ .Values.podAntiAffinity.topologyKey | quote }}
                labelSelector:
                  matchLabels:
                    {{- include "orbit.selectorLabels" . | nindent 20 }}
      {{- end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- range . }}
        - maxSkew: {{ .maxSkew | int }}
          topologyKey: {{ .topologyKey | quote }}
          whenUnsatisfiable: {{ .whenUnsatisfiable | quote }}
          labelSelector:
            matchLabels:
              {{- include "orbit.selectorLabels" $ | nindent 14 }}
        {{- end }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- /* Volumes last, fixed text: helm trims each rendered document, which would cut a trailing Unicode space off a toleration or node label go-yaml wrote plain. */}}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- range $index, $path := .Values.writablePaths }}
        {{- $override := dict }}
        {{- range $.Values.writablePathOverrides }}{{ if eq .path $path }}{{ $override = . }}{{ end }}{{ end }}
        {{- if $override.claimName }}
        - name: {{ printf "writable-%d" $index | quote }}
          persistentVolumeClaim:
            claimName: {{ $override.claimName | quote }}
        {{- else if not $override.unmounted }}
        - name: {{ printf "writable-%d" $index | quote }}
          emptyDir: {}
        {{- end }}
        {{- end }}
`;
