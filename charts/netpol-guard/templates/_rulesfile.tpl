{{/*
The rules file served to the webhook, checked when the chart renders so that a value the server would
refuse at start (and crash-loop on, behind a fail-closed webhook) fails `helm template`/`helm install`
instead, naming the value's path.

Source: `rulesFile` (the very file `netpol-guard check --config` reads, e.g. --set-file
rulesFile=policy/rules.yaml), served verbatim; else the `rules` value (the same shape, apiVersion and kind
optional). Both are checked against files/rules.schema.json, generated from the server's rules models by
`make manifests`, with the JSON Schema subset pydantic emits ($ref, anyOf, type, properties,
additionalProperties, required, items, enum, const, minLength, pattern, minimum, maximum) plus two checks the
schema cannot express: `format: regex` (RE2 = Go regexp, which regexMatch runs) and `x-unique-by` (no two
list entries share that key).
*/}}
{{- define "netpol-guard.rulesFile" -}}
{{- $schema := .Files.Get "files/rules.schema.json" | fromJson -}}
{{- if .Values.rulesFile -}}
{{- $doc := fromYaml .Values.rulesFile -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "rulesFile: not a YAML mapping: %s" (get $doc "Error")) -}}
{{- end -}}
{{- include "netpol-guard.rulesShape" (dict "doc" $doc "where" "rulesFile") -}}
{{- include "netpol-guard.rulesCheck" (dict "doc" $doc "schema" $schema "prefix" "rulesFile: ") -}}
{{- .Values.rulesFile }}
{{- else -}}
{{- $doc := merge (dict "apiVersion" "netpol-guard.io/v1alpha1" "kind" "RuleSet") (deepCopy .Values.rules) -}}
{{- include "netpol-guard.rulesCheck" (dict "doc" $doc "schema" $schema "prefix" "rules.") -}}
{{- toYaml $doc }}
{{- end -}}
{{- end }}

{{/* A rulesFile in another shape gets one line naming the right one (as `check --config` does). */}}
{{- define "netpol-guard.rulesShape" -}}
{{- $doc := .doc -}}
{{- if not (or (hasKey $doc "apiVersion") (hasKey $doc "kind")) -}}
{{- $nested := get $doc "rules" -}}
{{- if and (kindIs "map" $nested) (or (hasKey $nested "mode") (hasKey $nested "exemptions") (hasKey $nested "rules") (hasKey $nested "grandfatherExisting")) -}}
{{- fail (printf "%s: this is a Helm values file, not a rules file: pass it with -f, or pass the rules file itself (apiVersion: netpol-guard.io/v1alpha1, kind: RuleSet; `netpol-guard rules init` prints one)" .where) -}}
{{- end -}}
{{- fail (printf "%s: a rules file starts with apiVersion: netpol-guard.io/v1alpha1 and kind: RuleSet: add those two lines at the top (or put this shape under the rules: value)" .where) -}}
{{- end -}}
{{- end }}

{{/* Fails listing every problem of .doc (at most 20), each prefixed with .prefix and its key path. */}}
{{- define "netpol-guard.rulesCheck" -}}
{{- $problems := include "netpol-guard.schemaProblems" (dict "value" .doc "schema" .schema "path" "" "defs" (get .schema "$defs")) | trim -}}
{{- if $problems -}}
{{- $lines := list -}}
{{- range $line := splitList "\n" $problems | uniq -}}
{{- $lines = append $lines (printf "%s%s" $.prefix $line) -}}
{{- end -}}
{{- fail (printf "the rules would be refused by the server:\n%s" (join "\n" (slice $lines 0 (min 20 (len $lines))))) -}}
{{- end -}}
{{- end }}

{{/*
"true" when the pattern compiles. regexMatch hides compile errors (it answers false), so the pattern is
wrapped with an empty alternative that matches "" whenever it compiles; a pattern could escape that
wrapper only with a ")" before its "(", which the bracket count catches (escapes and classes removed).
*/}}
{{- define "netpol-guard.validRegex" -}}
{{- $rest := regexReplaceAll `\[\]?[^\]]*\]` (regexReplaceAll `\\.` . "") "" -}}
{{- range until 64 -}}
{{- $rest = regexReplaceAll `\([^()]*\)` $rest "" -}}
{{- end -}}
{{- if and (not (contains "(" $rest)) (not (contains ")" $rest)) (regexMatch (printf "(?:%s)|^" .) "") -}}
true
{{- end -}}
{{- end }}

{{/* One "path: problem" line per problem of .value against .schema (recursive). */}}
{{- define "netpol-guard.schemaProblems" -}}
{{- $value := .value -}}
{{- $schema := .schema -}}
{{- $path := .path -}}
{{- $defs := .defs -}}
{{- $at := $path | default "(top level)" -}}
{{- if hasKey $schema "$ref" -}}
{{- $target := get $defs (trimPrefix "#/$defs/" (get $schema "$ref")) -}}
{{- include "netpol-guard.schemaProblems" (dict "value" $value "schema" $target "path" $path "defs" $defs) -}}
{{- else if hasKey $schema "anyOf" -}}
{{- $first := "" -}}
{{- $matched := false -}}
{{- range $branch := get $schema "anyOf" -}}
{{- $found := include "netpol-guard.schemaProblems" (dict "value" $value "schema" $branch "path" $path "defs" $defs) -}}
{{- if not $found -}}{{- $matched = true -}}{{- else if not $first -}}{{- $first = $found -}}{{- end -}}
{{- end -}}
{{- if not $matched -}}{{- $first -}}{{- end -}}
{{- else -}}
{{- $type := get $schema "type" | default "" -}}
{{- if eq $type "object" -}}
{{- if not (kindIs "map" $value) -}}
{{- printf "%s: must be a mapping of keys to values\n" $at -}}
{{- else -}}
{{- $properties := get $schema "properties" | default dict -}}
{{- $extra := get $schema "additionalProperties" -}}
{{- range $key := keys $value | sortAlpha -}}
{{- $sub := ternary $key (printf "%s.%s" $path $key) (eq $path "") -}}
{{- if hasKey $properties $key -}}
{{- include "netpol-guard.schemaProblems" (dict "value" (get $value $key) "schema" (get $properties $key) "path" $sub "defs" $defs) -}}
{{- else if kindIs "map" $extra -}}
{{- include "netpol-guard.schemaProblems" (dict "value" (get $value $key) "schema" $extra "path" $sub "defs" $defs) -}}
{{- else if eq (toString $extra) "false" -}}
{{- printf "%s: unknown key\n" $sub -}}
{{- end -}}
{{- end -}}
{{- range $key := get $schema "required" | default list -}}
{{- if not (hasKey $value $key) -}}
{{- printf "%s: required key is missing\n" (ternary $key (printf "%s.%s" $path $key) (eq $path "")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $type "array" -}}
{{- if not (kindIs "slice" $value) -}}
{{- printf "%s: must be a list\n" $at -}}
{{- else -}}
{{- $unique := get $schema "x-unique-by" | default "" -}}
{{- $seen := dict -}}
{{- range $index, $item := $value -}}
{{- include "netpol-guard.schemaProblems" (dict "value" $item "schema" (get $schema "items" | default dict) "path" (printf "%s[%d]" $path $index) "defs" $defs) -}}
{{- if and $unique (kindIs "map" $item) (hasKey $item $unique) -}}
{{- $entry := toString (get $item $unique) -}}
{{- if hasKey $seen $entry -}}
{{- printf "%s: %s %q is listed more than once\n" $at $unique $entry -}}
{{- end -}}
{{- $_ := set $seen $entry true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $type "string" -}}
{{- if not (kindIs "string" $value) -}}
{{- printf "%s: must be a string\n" $at -}}
{{- else -}}
{{- if lt (len $value) (int (get $schema "minLength" | default 0)) -}}
{{- printf "%s: must not be empty\n" $at -}}
{{- end -}}
{{- if and (hasKey $schema "pattern") (not (regexMatch (get $schema "pattern") $value)) -}}
{{- printf "%s: %q is not valid here (it must match the pattern in files/rules.schema.json)\n" $at $value -}}
{{- end -}}
{{- if eq (get $schema "format" | default "") "regex" -}}
{{- if not (include "netpol-guard.validRegex" $value) -}}
{{- printf "%s: not a valid RE2 regular expression: %q\n" $at $value -}}
{{- else -}}
{{- $_ := mustRegexMatch $value "" -}}{{- /* any case the test above misses still fails, unnamed */ -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $type "integer" -}}
{{- if not (or (kindIs "int" $value) (kindIs "int64" $value) (and (kindIs "float64" $value) (eq (float64 $value) (floor $value)))) -}}
{{- printf "%s: must be an integer\n" $at -}}
{{- else -}}
{{- if and (hasKey $schema "minimum") (lt (float64 $value) (float64 (get $schema "minimum"))) -}}
{{- printf "%s: must be at least %v\n" $at (get $schema "minimum") -}}
{{- end -}}
{{- if and (hasKey $schema "maximum") (gt (float64 $value) (float64 (get $schema "maximum"))) -}}
{{- printf "%s: must be at most %v\n" $at (get $schema "maximum") -}}
{{- end -}}
{{- end -}}
{{- else if eq $type "boolean" -}}
{{- if not (kindIs "bool" $value) -}}
{{- printf "%s: must be true or false\n" $at -}}
{{- end -}}
{{- else if eq $type "null" -}}
{{- if not (kindIs "invalid" $value) -}}
{{- printf "%s: must be null\n" $at -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $schema "enum") (not (has $value (get $schema "enum"))) -}}
{{- printf "%s: must be one of %s\n" $at (join ", " (get $schema "enum")) -}}
{{- end -}}
{{- if and (hasKey $schema "const") (ne (toString $value) (toString (get $schema "const"))) -}}
{{- printf "%s: must be %v\n" $at (get $schema "const") -}}
{{- end -}}
{{- end -}}
{{- end }}
