/**
 * templates/_helpers.tpl. Every name and label is `quote`d where it is used:
 * a chart called "yes" or "null" would otherwise reach the API server as a
 * boolean or null. The define names carry a fixed "orbit." prefix rather than
 * the chart name, so no user-derived text ever lands in template code.
 */
export const HELPERS_TPL = `{{/*
Chart name, or nameOverride.
*/}}
{{- define "orbit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, cut to 63 characters because some Kubernetes name
fields are DNS labels. A release name that already contains the chart name is
used as it is.
*/}}
{{- define "orbit.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, as the helm.sh/chart label wants them: cut to 63
characters and ending in a letter or digit (a cut inside the version may leave a dot).
*/}}
{{- define "orbit.chart" -}}
{{- regexReplaceAll "[^A-Za-z0-9]+$" (printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63) "" }}
{{- end }}

{{/*
Selector labels: never change these after the first install, selectors are immutable.
*/}}
{{- define "orbit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orbit.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/*
Recommended labels, the environment, and the image's own labels (commonLabels).
*/}}
{{- define "orbit.labels" -}}
helm.sh/chart: {{ include "orbit.chart" . | quote }}
{{ include "orbit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
environment: {{ .Values.environment | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
A list of words (a command, its args, a probe's exec command), one quoted item
a line, not toYaml: go-yaml writes a word "=" or "<<" plain, which YAML 1.1
readers (PyYAML, the Python kubernetes client) take for the value and merge
keys and refuse the whole file.
*/}}
{{- define "orbit.quotedWords" -}}
{{- range $index, $word := . }}
{{- if $index }}
{{ end }}- {{ $word | quote }}
{{- end }}
{{- end }}

{{/*
A map of text (annotations, which an image label with free text becomes), one
quoted key and value a line, not toYaml: go-yaml writes a value "=" or "<<"
plain, and YAML 1.1 readers refuse the whole file (as orbit.quotedWords says).
*/}}
{{- define "orbit.quotedMap" -}}
{{- $first := true }}
{{- range $key, $value := . }}
{{- if not $first }}
{{ end }}{{ $key | quote }}: {{ $value | quote }}
{{- $first = false }}
{{- end }}
{{- end }}

{{/*
A probe as toYaml writes it, but the words of an exec command (a HEALTHCHECK's)
quoted by orbit.quotedWords. Any other probe a user sets is written as it is.
*/}}
{{- define "orbit.probe" -}}
{{- if and (kindIs "map" .exec) (kindIs "slice" .exec.command) -}}
exec:
  command:
    {{- include "orbit.quotedWords" .exec.command | nindent 4 }}
{{- with omit . "exec" }}
{{ toYaml . }}
{{- end }}
{{- else }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
Service account the pods run as.
*/}}
{{- define "orbit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "orbit.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Fails on two ports alike, which the schema cannot compare: an extra port with
another's name, or with the number and protocol of another (containerPort's
among them) or of the Service's app port. The API server would refuse the
Deployment or the Service, after helm had installed the rest.
*/}}
{{- define "orbit.checkPorts" -}}
{{- if .Values.containerPort.enabled }}
{{- $app := printf "%d/%s" (.Values.containerPort.port | int) .Values.containerPort.protocol }}
{{- $servicePort := printf "%d/%s" (.Values.service.port | int) .Values.containerPort.protocol }}
{{- $ports := dict $app "containerPort" }}
{{- $names := dict }}
{{- range $index, $extra := .Values.extraPorts }}
{{- $port := printf "%d/%s" ($extra.containerPort | int) $extra.protocol }}
{{- if hasKey $ports $port }}
{{- fail (printf "extraPorts[%d]: port %s is %s's already" $index $port (get $ports $port)) }}
{{- end }}
{{- if and $.Values.service.enabled (eq $port $servicePort) }}
{{- fail (printf "extraPorts[%d]: port %s is the Service's app port (service.port) already" $index $port) }}
{{- end }}
{{- if hasKey $names $extra.name }}
{{- fail (printf "extraPorts[%d]: name %q is %s's already" $index $extra.name (get $names $extra.name)) }}
{{- end }}
{{- $_ := set $ports $port (printf "extraPorts[%d]" $index) }}
{{- $_ := set $names $extra.name (printf "extraPorts[%d]" $index) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails on a writablePathOverrides entry whose path is not one of writablePaths,
or is there twice: a typo would leave the emptyDir it meant to replace in place,
silently.
*/}}
{{- define "orbit.checkWritablePathOverrides" -}}
{{- $seen := dict }}
{{- range $index, $override := .Values.writablePathOverrides }}
{{- if not (has $override.path $.Values.writablePaths) }}
{{- fail (printf "writablePathOverrides[%d]: path %q is not one of writablePaths" $index $override.path) }}
{{- end }}
{{- if hasKey $seen $override.path }}
{{- fail (printf "writablePathOverrides[%d]: path %q is overridden already" $index $override.path) }}
{{- end }}
{{- $_ := set $seen $override.path true }}
{{- end }}
{{- end }}
`;
