{{/*
Names and labels, in the style of the Argo Workflows chart (argo-helm charts/argo-workflows).
Kubernetes names and label values are limited to 63 characters; release names to 53.
*/}}

{{/* The chart name (nameOverride wins). */}}
{{- define "marketplace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The fully qualified app name: "<release>-<chart>", or just the release name when it already
contains the chart name; fullnameOverride wins. Cut at 63 characters, trimmed of a trailing "-".
*/}}
{{- define "marketplace.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The name of one component ("api", "worker", "migrate"...): the full name cut short enough that
"-<component>" still fits in 63 characters, so two components never end up with the same name.
Usage: include "marketplace.componentName" (dict "root" . "component" "api")
*/}}
{{- define "marketplace.componentName" -}}
{{- $room := sub 62 (len .component) | int -}}
{{- $base := include "marketplace.fullname" .root | trunc $room | trimSuffix "-" -}}
{{- printf "%s-%s" $base .component -}}
{{- end -}}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "marketplace.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image tag: image.tag, else the chart's appVersion. */}}
{{- define "marketplace.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "marketplace.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "marketplace.imageTag" .) -}}
{{- end -}}

{{/*
Labels every object carries.
Usage: include "marketplace.labels" (dict "root" . "component" "api")
*/}}
{{- define "marketplace.labels" -}}
helm.sh/chart: {{ include "marketplace.chart" .root }}
{{ include "marketplace.selectorLabels" . }}
app.kubernetes.io/version: {{ include "marketplace.imageTag" .root | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: {{ include "marketplace.name" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels that select one component's pods (never change them: Deployment selectors are immutable).
Usage: include "marketplace.selectorLabels" (dict "root" . "component" "api")
*/}}
{{- define "marketplace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "marketplace.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount the API and the worker run as. */}}
{{- define "marketplace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "marketplace.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The namespace where orders' Jobs and Workflows run (orders.namespace, else the release's). */}}
{{- define "marketplace.ordersNamespace" -}}
{{- .Values.orders.namespace | default .Release.Namespace -}}
{{- end -}}

{{/*
The orders namespace's Pod Security admission labels: enforce baseline when Argo runs there (its
init and wait containers do not meet restricted), else restricted; warn and audit follow enforce.
*/}}
{{- define "marketplace.podSecurityLabels" -}}
{{- $levels := .Values.orders.podSecurity -}}
{{- $enforce := $levels.enforce | default (ternary "baseline" "restricted" .Values.argo.enabled) -}}
{{- range $mode := list "enforce" "warn" "audit" }}
pod-security.kubernetes.io/{{ $mode }}: {{ index $levels $mode | default $enforce }}
pod-security.kubernetes.io/{{ $mode }}-version: {{ $levels.version }}
{{- end }}
{{- end -}}

{{/* The Secret holding DATABASE_URL and MARKETPLACE_SECRET_KEY. */}}
{{- define "marketplace.secretName" -}}
{{- .Values.existingSecret | default (include "marketplace.fullname" .) -}}
{{- end -}}

{{/*
The database URL, checked: required unless existingSecret names a Secret that holds it.
*/}}
{{- define "marketplace.databaseUrl" -}}
{{- $url := required "postgresql.url is required: set it to the PostgreSQL URL (postgresql://USER:PASSWORD@HOST:5432/DATABASE), or set existingSecret to a Secret with the keys DATABASE_URL and MARKETPLACE_SECRET_KEY" .Values.postgresql.url -}}
{{- if not (regexMatch "^postgres(ql)?(\\+psycopg)?://" $url) -}}
{{- fail (printf "postgresql.url must be a PostgreSQL URL (postgresql://USER:PASSWORD@HOST:5432/DATABASE), not one starting %q: every API and worker pod shares the database" (regexReplaceAll "://.*$" $url "://...")) -}}
{{- end -}}
{{- $url -}}
{{- end -}}

{{/* Settings the chart derives itself and that `config` must not contradict. */}}
{{- define "marketplace.checkConfig" -}}
{{- range $key := list "DATABASE_URL" "MARKETPLACE_SECRET_KEY" -}}
{{- if hasKey $.Values.config $key -}}
{{- fail (printf "config.%s would land in a ConfigMap: set postgresql.url / secretKey, or existingSecret, instead" $key) -}}
{{- end -}}
{{- end -}}
{{- with .Values.config.MARKETPLACE_NAMESPACE -}}
{{- if ne (toString .) (include "marketplace.ordersNamespace" $) -}}
{{- fail (printf "config.MARKETPLACE_NAMESPACE (%s) differs from orders.namespace (%s), where the chart grants its Role: set orders.namespace only" . (include "marketplace.ordersNamespace" $)) -}}
{{- end -}}
{{- end -}}
{{- range $key, $_ := .Values.config -}}
{{- if hasPrefix "MARKETPLACE_S3_" $key -}}
{{- fail (printf "config.%s: the object store is set by objectStore (bucket, endpoint, region, presignedDownloads, credentials.existingSecret)" $key) -}}
{{- end -}}
{{- end -}}
{{- $store := .Values.objectStore -}}
{{- if and (not $store.bucket) (or $store.endpoint $store.region $store.credentials.existingSecret) -}}
{{- fail "objectStore.bucket is required when objectStore.endpoint, region or credentials.existingSecret is set" -}}
{{- end -}}
{{- end -}}

{{/* The environment variables that go into the shared ConfigMap (non-empty `config` values). */}}
{{- define "marketplace.configEnv" -}}
{{- $env := dict -}}
{{- range $key, $value := .Values.config -}}
{{- if and (ne $key "PROMETHEUS_MULTIPROC_DIR") (ne (toString $value) "") -}}
{{- $_ := set $env $key (toString $value) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $env "MARKETPLACE_NAMESPACE" (include "marketplace.ordersNamespace" .) -}}
{{- if not .Values.config.MARKETPLACE_API_URL_FOR_WORKLOADS -}}
{{- $_ := set $env "MARKETPLACE_API_URL_FOR_WORKLOADS" (printf "http://%s.%s.svc:%v" (include "marketplace.fullname" .) .Release.Namespace .Values.service.port) -}}
{{- end -}}
{{- if not .Values.config.MARKETPLACE_HELPER_IMAGE -}}
{{- $_ := set $env "MARKETPLACE_HELPER_IMAGE" (include "marketplace.image" .) -}}
{{- end -}}
{{- with .Values.objectStore -}}
{{- if .bucket -}}
{{- $_ := set $env "MARKETPLACE_S3_BUCKET" .bucket -}}
{{- $_ := set $env "MARKETPLACE_S3_PRESIGNED_DOWNLOADS" (toString .presignedDownloads) -}}
{{- with .endpoint }}{{ $_ := set $env "MARKETPLACE_S3_ENDPOINT_URL" . }}{{ end -}}
{{- with .region }}{{ $_ := set $env "MARKETPLACE_S3_REGION" . }}{{ end -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* The env entries reading the Secret. */}}
{{- define "marketplace.secretEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "marketplace.secretName" . }}
      key: DATABASE_URL
- name: MARKETPLACE_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "marketplace.secretName" . }}
      key: MARKETPLACE_SECRET_KEY
{{- end -}}

{{/* The env entries reading the object store's credentials from their Secret, if one is named. */}}
{{- define "marketplace.objectStoreEnv" -}}
{{- with .Values.objectStore.credentials.existingSecret -}}
- name: MARKETPLACE_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.objectStore.credentials.accessKeyIdKey }}
- name: MARKETPLACE_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.objectStore.credentials.secretAccessKeyKey }}
{{- end -}}
{{- end -}}

{{/* Pod-level security context. */}}
{{- define "marketplace.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{/* Container-level security context. */}}
{{- define "marketplace.containerSecurityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}

{{/* Annotations that roll the pods when their configuration changes. */}}
{{- define "marketplace.checksums" -}}
checksum/config: {{ include "marketplace.configEnv" . | sha256sum }}
checksum/secret: {{ dict "url" .Values.postgresql.url "key" .Values.secretKey "existing" .Values.existingSecret | toJson | sha256sum }}
{{- end -}}
