/**
 * templates/tests/test-connection.yaml and NOTES.txt. The test pod carries no
 * selector labels (app.kubernetes.io/name is missing), so the Service never
 * routes traffic to it. `nc -z` checks a TCP connect, which works for any
 * protocol on top; UDP and SCTP ports get no test. Its name is cut so that
 * it stays a DNS label (63 characters): a pod name is its hostname, and the
 * API server warns about a longer one.
 */
export const TEST_CONNECTION_YAML = `{{- if and .Values.tests.enabled .Values.service.enabled .Values.containerPort.enabled (eq .Values.containerPort.protocol "TCP") }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ printf "%s-test-connection" (include "orbit.fullname" . | trunc 47 | trimSuffix "-") | quote }}
  labels:
    helm.sh/chart: {{ include "orbit.chart" . | quote }}
    app.kubernetes.io/instance: {{ .Release.Name | quote }}
    app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
    app.kubernetes.io/component: "test"
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  containers:
    - name: connect
      image: {{ printf "%s@%s" .Values.tests.image.repository .Values.tests.image.digest | quote }}
      command:
        - nc
        - -z
        - -w
        - "5"
        - {{ include "orbit.fullname" . | quote }}
        - {{ .Values.service.port | int | toString | quote }}
      securityContext:
        {{- toYaml .Values.tests.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.tests.resources | nindent 8 }}
  {{- /* Fixed text last: helm trims each rendered document, which would cut a trailing Unicode space off a value go-yaml wrote plain. */}}
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile:
      type: RuntimeDefault
{{- end }}
`;

/**
 * What the user reads after install. Port-forwarding and `helm test` carry
 * TCP only: a UDP or SCTP app port gets neither line (found by a review: a
 * UDP-only chart was told to port-forward, and to run a test it has not).
 */
export const NOTES_TXT = `{{ include "orbit.fullname" . }} {{ .Chart.AppVersion }} is deployed in namespace {{ .Release.Namespace }}.
{{- $tcp := and .Values.service.enabled .Values.containerPort.enabled (eq .Values.containerPort.protocol "TCP") }}
{{- if and .Values.service.enabled .Values.containerPort.enabled }}

Inside the cluster it answers at {{ include "orbit.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.service.port | int }}{{ if not $tcp }} ({{ .Values.containerPort.protocol }}){{ end }}.
{{- if $tcp }}
From your machine:
  kubectl --namespace {{ .Release.Namespace }} port-forward service/{{ include "orbit.fullname" . }} {{ .Values.service.port | int }}
{{- end }}
{{- else }}

The image exposes no port, so the chart has no Service and the NetworkPolicy admits no traffic.
{{- end }}
{{- if not .Values.probes.enabled }}

No probes: {{ .Values.probes.disabledReason }}
{{- end }}
{{- if .Values.writablePaths }}

Each path of writablePaths gets an emptyDir, which starts empty: it hides whatever the image ships at that path.
Where the image needs its own files there, writablePathOverrides leaves a path unmounted or mounts a PersistentVolumeClaim.
{{- end }}
{{- if and (hasKey .Values "imageHasCommand") (not (or .Values.imageHasCommand .Values.command .Values.args)) }}

WARNING: the image sets neither ENTRYPOINT nor CMD, so no container runtime can start it (containerd: "no command specified").
Set command or args, e.g. --set-json 'command=["/path/in/image"]'.
{{- end }}
{{- if and .Values.tests.enabled $tcp }}

Check it with: helm test {{ .Release.Name }} --namespace {{ .Release.Namespace }}
{{- end }}
`;
