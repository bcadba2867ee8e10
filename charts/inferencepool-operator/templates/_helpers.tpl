{{/*
The name prefix of every object: fullnameOverride, else the release name, followed by the chart's
name unless the release name already contains it. The objects get the names config/default gives
them (its namePrefix is "inferencepool-operator-"), so a release named inferencepool-operator
creates the same objects as the kustomize install.
*/}}
{{- define "inferencepool-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
The name of one object: the prefix, then the name config/ gives it (e.g. "controller-manager"),
cut to 63 characters (Service names are DNS labels). Call: include "inferencepool-operator.name" (list . "controller-manager")
*/}}
{{- define "inferencepool-operator.name" -}}
{{- $ctx := index . 0 -}}
{{- printf "%s-%s" (include "inferencepool-operator.fullname" $ctx) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The pods' labels the Deployment, the metrics Service and the PodDisruptionBudget select on. They are
config/manager's selector plus the release: app.kubernetes.io/name keeps the selector ours alone,
and it is also the job the ServiceMonitor gives the metrics (its jobLabel), which the alerts select.
*/}}
{{- define "inferencepool-operator.selectorLabels" -}}
control-plane: controller-manager
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The labels of every object: Helm's recommended ones, then commonLabels. */}}
{{- define "inferencepool-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The metadata of every object: its name, the release namespace when it is namespaced, the labels
(plus the object's own, e.g. control-plane) and its annotations with commonAnnotations. Call:
include "inferencepool-operator.metadata" (dict "ctx" . "name" "controller-manager" "namespaced" true "labels" (dict ...))
("fullName" instead of "name" gives the whole name, without the prefix.)
*/}}
{{- define "inferencepool-operator.metadata" -}}
name: {{ .fullName | default (include "inferencepool-operator.name" (list .ctx .name)) }}
{{- if .namespaced }}
namespace: {{ .ctx.Release.Namespace }}
{{- end }}
labels:
  {{- include "inferencepool-operator.labels" .ctx | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with merge (dict) (.annotations | default dict) .ctx.Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount the manager runs as. */}}
{{- define "inferencepool-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else -}}
{{- include "inferencepool-operator.name" (list . "controller-manager") -}}
{{- end -}}
{{- end -}}

{{/* The manager image: repository@digest when a digest is given, else repository:tag (default appVersion). */}}
{{- define "inferencepool-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The metrics port's name: config/default's Service names it https; plain HTTP gets http. */}}
{{- define "inferencepool-operator.metricsPortName" -}}
{{- if .Values.manager.metrics.secure }}https{{ else }}http{{ end -}}
{{- end -}}
