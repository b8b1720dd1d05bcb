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

export const NOTES_TXT = `{{ include "orbit.fullname" . }} {{ .Chart.AppVersion }} is deployed in namespace {{ .Release.Namespace }}.
{{- if and .Values.service.enabled .Values.containerPort.enabled }}

Inside the cluster it answers at {{ include "orbit.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.service.port | int }}.
From your machine:
  kubectl --namespace {{ .Release.Namespace }} port-forward service/{{ include "orbit.fullname" . }} {{ .Values.service.port | int }}
{{- else }}

The image exposes no port, so the chart has no Service and the NetworkPolicy admits no traffic.
{{- end }}
{{- if not .Values.probes.enabled }}

No probes: {{ .Values.probes.disabledReason }}
{{- end }}

Check it with: helm test {{ .Release.Name }} --namespace {{ .Release.Namespace }}
`;
