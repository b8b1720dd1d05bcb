/** The templates beside the Deployment: Service, ConfigMap, ServiceAccount, HPA, PDB, NetworkPolicy. */

export const SERVICE_YAML = `{{- if and .Values.service.enabled .Values.containerPort.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "orbit.fullname" . | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- include "orbit.quotedMap" . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type | quote }}
  selector:
    {{- include "orbit.selectorLabels" . | nindent 4 }}
  ports:
    - name: app
      port: {{ .Values.service.port | int }}
      targetPort: app
      protocol: {{ .Values.containerPort.protocol | quote }}
    {{- range .Values.extraPorts }}
    - name: {{ .name | quote }}
      port: {{ .containerPort | int }}
      targetPort: {{ .name | quote }}
      protocol: {{ .protocol | quote }}
    {{- end }}
{{- end }}
`;

export const CONFIGMAP_YAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-env" (include "orbit.fullname" .) | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
{{- /* Each entry quoted, not toYaml: helm trims every rendered document, and a last value go-yaml wrote plain lost a trailing no-break or ideographic space (PORT "8080<NBSP>" became the number 8080). */}}
data:
  {{- range $key, $value := .Values.env }}
  {{ $key | quote }}: {{ $value | quote }}
  {{- else }} {}
  {{- end }}
`;

export const SERVICEACCOUNT_YAML = `{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "orbit.serviceAccountName" . | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- /* The app does not call the Kubernetes API; a mounted token would only be something to steal. */}}
automountServiceAccountToken: false
{{- end }}
`;

export const HPA_YAML = `{{- if .Values.autoscaling.enabled }}
{{- if gt (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int)) }}
{{- end }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "orbit.fullname" . | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "orbit.fullname" . | quote }}
  minReplicas: {{ .Values.autoscaling.minReplicas | int }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas | int }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage | int }}
{{- end }}
`;

export const PDB_YAML = `{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "orbit.fullname" . | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
spec:
  {{- $pods := ternary .Values.autoscaling.minReplicas .Values.replicaCount .Values.autoscaling.enabled | int }}
  {{- if hasKey .Values.podDisruptionBudget "maxUnavailable" }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable | int }}
  {{- else if le $pods (.Values.podDisruptionBudget.minAvailable | int) }}
  {{- /* No more pods than must stay up: minAvailable would forbid every voluntary eviction and block node drains. */}}
  maxUnavailable: 1
  {{- else }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable | int }}
  {{- end }}
  {{- /* A crash-looping pod must not block node drains: it is not serving anyway. */}}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "orbit.selectorLabels" . | nindent 6 }}
{{- end }}
`;

export const NETWORKPOLICY_YAML = `{{- if .Values.networkPolicy.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "orbit.fullname" . | quote }}
  labels:
    {{- include "orbit.labels" . | nindent 4 }}
spec:
  {{- /* No ingress rules at all means no ingress: an app without a Service takes no connections. */}}
  {{- if and .Values.service.enabled .Values.containerPort.enabled }}
  ingress:
    - from:
        - podSelector: {}
        {{- with .Values.networkPolicy.ingressFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - port: {{ .Values.containerPort.port | int }}
          protocol: {{ .Values.containerPort.protocol | quote }}
        {{- range .Values.extraPorts }}
        - port: {{ .containerPort | int }}
          protocol: {{ .protocol | quote }}
        {{- end }}
  {{- end }}
  egress:
    - to:
        - namespaceSelector: {}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- if .Values.networkPolicy.allowAllEgress }}
    - {}
    {{- end }}
    {{- with .Values.networkPolicy.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- /* Fixed text last: helm trims each rendered document, which would cut a trailing Unicode space off a value go-yaml wrote plain. */}}
  podSelector:
    matchLabels:
      {{- include "orbit.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
{{- end }}
`;
