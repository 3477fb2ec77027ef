{{/* Names, labels and the few values derived in more than one template. */}}

{{- define "netpol-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "netpol-guard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "netpol-guard.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "netpol-guard.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The webhook configuration and its single webhook share this name (webhook.name, cluster-wide). */}}
{{- define "netpol-guard.webhookName" -}}{{ .Values.webhook.name }}{{- end }}

{{/*
The Kubernetes controllers that delete a namespace's contents (CEL list items). The webhook never judges
their requests, and protect-baseline lets them through, so namespace deletion never depends on us.
*/}}
{{- define "netpol-guard.lifecycleUsers" -}}
'system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccount:kube-system:generic-garbage-collector'
{{- end }}

{{- define "netpol-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netpol-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The webhook pods: Deployment selector and template, topology spread, Service, PDB, NetworkPolicy. */}}
{{- define "netpol-guard.webhookSelectorLabels" -}}
{{ include "netpol-guard.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "netpol-guard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "netpol-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "netpol-guard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end }}
{{- end }}

{{- define "netpol-guard.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" }}
{{- required "tls.existingSecret.name is required when tls.mode is existingSecret" .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "netpol-guard.fullname" .) }}
{{- end }}
{{- end }}

{{/* Pod and container security contexts: Pod Security Standards "restricted", always. */}}
{{- define "netpol-guard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "netpol-guard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The rules file served to the webhook: templates/_rulesfile.tpl. */}}

{{/*
`certs ensure` pod spec, shared by the hook Job and the CronJob. Call with
(dict "root" $ "serviceAccount" NAME).
*/}}
{{- define "netpol-guard.certsPodSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ .serviceAccount }}
restartPolicy: Never
securityContext:
  {{- include "netpol-guard.podSecurityContext" $root | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: certs
    image: {{ include "netpol-guard.image" $root }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      - certs
      - ensure
      - --namespace={{ $root.Release.Namespace }}
      - --secret={{ include "netpol-guard.tlsSecretName" $root }}
      - --webhook={{ include "netpol-guard.webhookName" $root }}
      - --service={{ include "netpol-guard.fullname" $root }}
      - --validity={{ $root.Values.tls.selfManaged.validity }}
      - --renew-before={{ $root.Values.tls.selfManaged.renewBefore }}
    securityContext:
      {{- include "netpol-guard.containerSecurityContext" $root | nindent 6 }}
    resources:
      {{- toYaml $root.Values.tls.selfManaged.resources | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
{{- end }}

{{/*
The two identities `certs ensure` runs as: the hook Job's (deleted after each hook) and the CronJob's
(lives with the release). Each gets a ServiceAccount, a Role and a ClusterRole, bound by name.
Use as `range $variant := include "netpol-guard.certsIdentities" . | fromYamlArray`.
*/}}
{{- define "netpol-guard.certsIdentities" -}}
{{- $fullname := include "netpol-guard.fullname" . }}
- {name: {{ printf "%s-certs-hook" $fullname | quote }}, hook: true}
- {name: {{ printf "%s-certs" $fullname | quote }}, hook: false}
{{- end }}

{{/*
RBAC for `certs ensure`: exactly the Secret and the webhook configuration, by name. `create` on
Secrets cannot be limited by name (RBAC sees no name on a create); it is granted in the release
namespace only, for the first run or a deleted Secret. Call with (dict "root" $ "name" NAME "hook" BOOL).
*/}}
{{- define "netpol-guard.certsMetadata" -}}
name: {{ .name }}
labels:
  {{- include "netpol-guard.labels" .root | nindent 2 }}
  app.kubernetes.io/component: certs
{{- if .hook }}
annotations:
  # Needed before the release's own objects exist; deleted once the hook Job has succeeded.
  helm.sh/hook: pre-install,pre-upgrade,post-install,post-upgrade
  helm.sh/hook-weight: "-10"
  helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
{{- end }}

{{/*
Name, labels and hook annotations of the `helm test` objects; the RBAC ones (weight "-5") exist before
the pod (weight "0") starts. Call with (dict "root" $ "weight" WEIGHT).
*/}}
{{- define "netpol-guard.testMetadata" -}}
name: {{ include "netpol-guard.fullname" .root }}-test
labels:
  {{- include "netpol-guard.labels" .root | nindent 2 }}
  app.kubernetes.io/component: test
annotations:
  helm.sh/hook: test
  helm.sh/hook-weight: {{ .weight | quote }}
  helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/* The certs hook Job's pod template (its name carries a hash of it, see job.yaml). */}}
{{- define "netpol-guard.certsJobTemplate" -}}
metadata:
  labels:
    {{- include "netpol-guard.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: certs
spec:
  {{- include "netpol-guard.certsPodSpec" (dict "root" . "serviceAccount" (printf "%s-certs-hook" (include "netpol-guard.fullname" .))) | nindent 2 }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the kubelet sends SIGTERM after the preStop sleep, the server keeps
answering for the shutdown delay, then waits up to the graceful timeout for in-flight reviews. The grace
period must cover all three, or the pod is killed in the middle of its drain: derived when unset, and a
value too small for them fails the render.
*/}}
{{- define "netpol-guard.terminationGracePeriodSeconds" -}}
{{- $needed := add (int .Values.preStopSleepSeconds) (int .Values.server.shutdownDelaySeconds) (int .Values.server.gracefulTimeoutSeconds) 5 -}}
{{- $given := .Values.terminationGracePeriodSeconds -}}
{{- if kindIs "invalid" $given -}}
{{- $needed -}}
{{- else if lt (int $given) (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds: %d is too short: preStopSleepSeconds (%d) + server.shutdownDelaySeconds (%d) + server.gracefulTimeoutSeconds (%d) + 5 s of margin need %d; raise it, lower those, or leave it empty to derive it" (int $given) (int .Values.preStopSleepSeconds) (int .Values.server.shutdownDelaySeconds) (int .Values.server.gracefulTimeoutSeconds) (int $needed)) -}}
{{- else -}}
{{- int $given -}}
{{- end -}}
{{- end -}}
