#!/usr/bin/env bash
# The main job, end to end, on a local default ledger (./credledger-data, or $CREDLEDGER_DB):
# a company, keys of each type, grants, uses (allowed and denied), OAuth tokens, a delete, forward authentication
# over HTTP (credledger serve with curl), OAuth over HTTP, the company API page's URL, and verify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/setup.sh
if [ -z "${CREDLEDGER_BIN:-}" ]; then
  echo "building credledger (release)…" >&2
  swift build -c release --product credledger >/dev/null
fi
CL="${CREDLEDGER_BIN:-.build/release/credledger}"
export CREDLEDGER_DB="${CREDLEDGER_DB:-./credledger-data}"
rm -rf "$CREDLEDGER_DB"
# Secrets are masked in what the demo echoes (they are printed once, by the create commands only).
mask() { sed -E 's/(cx[kscaro]_[0-9A-Za-z]{6})[0-9A-Za-z]{36}/\1…/g'; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*" | mask; }
run() { say "credledger $*"; "$CL" "$@"; }
runq() { say "credledger $*"; "$CL" "$@" || echo "(exit $?)"; }
json() { "$CL" --json "$@"; }
# Secrets go in on standard input (`--option -`), never in argv, where the process list and the shell history show them.
# The *_in helpers take the secret first; printf is a shell builtin, so no process carries it.
run_in() { local secret="$1"; shift; say "printf '%s\n' … | credledger $*"; printf '%s\n' "$secret" | "$CL" "$@"; }
runq_in() { local secret="$1"; shift; say "printf '%s\n' … | credledger $*"; printf '%s\n' "$secret" | "$CL" "$@" || echo "(exit $?)"; }
json_in() { local secret="$1"; shift; printf '%s\n' "$secret" | "$CL" --json "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

run company create acme --admin alice@acme.example --name "Acme Corp" --mail-domain acme.example
runq key create acme --name "Nightly sync" --type static --scope read --as alice@acme.example
run company enable-api acme --as alice@acme.example
run project create acme bridge --name "Bridge build" --as alice@acme.example
run project create acme tunnel --as alice@acme.example
run member set acme bob@acme.example --role member --as alice@acme.example
run project member acme bridge bob@acme.example --role editor --as alice@acme.example

say "credledger --json key create acme --name 'Nightly sync' --type static --scope read --as alice@acme.example"
STATIC=$(json key create acme --name "Nightly sync" --type static --scope read --as alice@acme.example)
STATIC_ID=$(echo "$STATIC" | field id); STATIC_KEY=$(echo "$STATIC" | field secret)
echo "$STATIC" | sed -E 's/cxk_[0-9A-Za-z]{42}/cxk_…(shown once)/'
OAUTH=$(json key create acme --name "ERP connector" --type oauth --scope read-write --as alice@acme.example)
OAUTH_ID=$(echo "$OAUTH" | field id); OAUTH_CLIENT=$(echo "$OAUTH" | field client_id); OAUTH_SECRET=$(echo "$OAUTH" | field client_secret)
run key create acme --name "Reporting" --type static --scope global --as alice@acme.example | sed -E 's/cxk_[0-9A-Za-z]{42}/cxk_…(shown once)/'
PKCE=$(json key create acme --name "Claude MCP" --type pkce --scope read-write --redirect-uri https://claude.ai/api/mcp/auth_callback --as alice@acme.example)
PKCE_CLIENT=$(echo "$PKCE" | field client_id); PKCE_SECRET=$(echo "$PKCE" | field client_secret)

run access grant acme "$STATIC_ID" bridge --role viewer --as alice@acme.example
run access grant acme "$OAUTH_ID" bridge --role editor --as alice@acme.example

run_in "Apikey $STATIC_KEY" auth check acme --header - --project bridge --op read
runq_in "Apikey $STATIC_KEY" auth check acme --header - --project bridge --op write
runq_in "Apikey $STATIC_KEY" auth check acme --header - --project tunnel --op read
TYPO="${STATIC_KEY:0:20}$( [ "${STATIC_KEY:20:1}" = "x" ] && echo y || echo x )${STATIC_KEY:21}"
runq_in "Apikey $TYPO" auth check acme --header - --project bridge --op read

say "printf '%s\\n' … | credledger --json token client-credentials --client-id … --client-secret -"
TOKEN=$(json_in "$OAUTH_SECRET" token client-credentials --client-id "$OAUTH_CLIENT" --client-secret -)
ACCESS=$(echo "$TOKEN" | field access_token)
echo "$TOKEN" | sed -E 's/cx[ar]_[0-9A-Za-z]{42}/cx?_…/g'
run_in "Bearer $ACCESS" auth check acme --header - --project bridge --op write

VERIFIER=$(python3 -c "import secrets; print(secrets.token_urlsafe(48))")
CHALLENGE=$(python3 -c "import hashlib,base64,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b'=').decode())" "$VERIFIER")
say "credledger oauth authorize (bob approves Claude) … then oauth token --grant authorization_code"
CODE=$(json oauth authorize acme --client-id "$PKCE_CLIENT" --user bob@acme.example --redirect-uri https://claude.ai/api/mcp/auth_callback --code-challenge "$CHALLENGE" --code-challenge-method S256 --state xyz | field code)
# Several options can be `-`: each reads one line of standard input, in command-line order — here the client secret,
# the code and the verifier, so none of the three is in argv.
PAIR=$(printf '%s\n' "$PKCE_SECRET" "$CODE" "$VERIFIER" | "$CL" --json oauth token --grant authorization_code --client-id "$PKCE_CLIENT" --client-secret - --code - --code-verifier - --redirect-uri https://claude.ai/api/mcp/auth_callback)
USER_ACCESS=$(echo "$PAIR" | field access_token)
run_in "Bearer $USER_ACCESS" auth check acme --header - --project bridge --op write
runq_in "Bearer $USER_ACCESS" auth check acme --header - --project tunnel --op read

run key list acme --as alice@acme.example
run key delete acme "$OAUTH_ID" --yes --as alice@acme.example
runq_in "Bearer $ACCESS" auth check acme --header - --project bridge --op read
run log --limit 8
run audit access acme bridge --op write
run audit review acme
run audit events --company acme --outcome denied --limit 5
EXPORT_DIR="$(mktemp -d)/export"
run export --all --format jsonl --out "$EXPORT_DIR"
say "python3 Tools/verify_export.py $EXPORT_DIR"; python3 Tools/verify_export.py "$EXPORT_DIR"
# Serve over HTTP (docs/HTTP.md): forward authentication for a gateway, on the demo ledger. Port 0 picks a free port;
# the server prints the URL. curl reads the Authorization header from standard input (-H @-), so no argv holds a key.
ERP=$(json key create acme --name "ERP connector v2" --type oauth --scope read --as alice@acme.example)
ERP_CLIENT=$(echo "$ERP" | field client_id); ERP_SECRET=$(echo "$ERP" | field client_secret)
SERVE_LOG="$(mktemp)"
say "credledger serve --listen 127.0.0.1:0 --dev-login --route '/companies/{company}/projects/{project}/' &"
"$CL" serve --listen 127.0.0.1:0 --dev-login --route '/companies/{company}/projects/{project}/' >"$SERVE_LOG" 2>&1 &
SERVE_PID=$!
URL=""
for _ in $(seq 100); do
  URL=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$SERVE_LOG" | head -1 || true)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "credledger serve did not start:"; cat "$SERVE_LOG"; exit 1; }
head -1 "$SERVE_LOG"
say "curl -s $URL/healthz"; curl -s "$URL/healthz"
forward() { local header="$1" method="$2" path="$3"
  say "printf 'Authorization: …' | curl -s -i -H @- -H 'X-Forwarded-Method: $method' -H 'X-Forwarded-Uri: $path' $URL/auth/forward"
  printf '%s\n' "Authorization: $header" | curl -s -i -H @- -H "X-Forwarded-Method: $method" -H "X-Forwarded-Uri: $path" "$URL/auth/forward" \
    | tr -d '\r' | grep -viE '^(date|content-length|connection):'; echo; }
forward "Apikey $STATIC_KEY" GET /companies/acme/projects/bridge/builds      # allowed: 200 + who and what
forward "Apikey $STATIC_KEY" POST /companies/acme/projects/bridge/builds     # read-only key writing: 403
forward "Bearer $ACCESS" GET /companies/acme/projects/bridge/builds          # token of the deleted client: 401
forward "Apikey $STATIC_KEY" GET /companies/acme/projects/bridge/../tunnel   # a traversal: 400, nothing decided
# OAuth over HTTP (docs/HTTP.md §3): discovery, then client credentials at the token endpoint (client_secret_post, the
# form read from standard input), the token used through forward-auth, introspected, and revoked.
say "curl -s $URL/.well-known/oauth-authorization-server"; curl -s "$URL/.well-known/oauth-authorization-server"; echo
say "printf 'grant_type=client_credentials&client_id=…&client_secret=…' | curl -s --data @- $URL/oauth/token"
HTTP_TOKEN=$(printf 'grant_type=client_credentials&client_id=%s&client_secret=%s' "$ERP_CLIENT" "$ERP_SECRET" | curl -s --data @- "$URL/oauth/token")
echo "$HTTP_TOKEN" | mask
HTTP_ACCESS=$(echo "$HTTP_TOKEN" | field access_token)
"$CL" access grant acme "$(echo "$ERP" | field id)" bridge --role viewer --as alice@acme.example >/dev/null
forward "Bearer $HTTP_ACCESS" GET /companies/acme/projects/bridge/builds     # the token from /oauth/token: 200
say "printf 'token=…&client_id=…&client_secret=…' | curl -s --data @- $URL/oauth/introspect"
printf 'token=%s&client_id=%s&client_secret=%s' "$HTTP_ACCESS" "$ERP_CLIENT" "$ERP_SECRET" | curl -s --data @- "$URL/oauth/introspect" | mask; echo
say "printf 'token=…&client_id=…&client_secret=…' | curl -s -o /dev/null -w '%{http_code}' --data @- $URL/oauth/revoke"
printf 'token=%s&client_id=%s&client_secret=%s' "$HTTP_ACCESS" "$ERP_CLIENT" "$ERP_SECRET" | curl -s -o /dev/null -w '%{http_code}\n' --data @- "$URL/oauth/revoke"
forward "Bearer $HTTP_ACCESS" GET /companies/acme/projects/bridge/builds     # revoked: 401
say "curl -s -o /dev/null -w '%{http_code} %{redirect_url}' $URL/companies/acme/api   # the company API page: sign-in first"
curl -s -o /dev/null -w '%{http_code} %{redirect_url}\n' "$URL/companies/acme/api"
say "kill -TERM $SERVE_PID   # graceful: requests in flight finish, exit 0"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; echo "credledger serve exited $?"
rm -f "$SERVE_LOG"
run verify
say "grep for the plaintext secrets in the LMDB files and the export (must find nothing)"
if grep -rqF -e "$STATIC_KEY" -e "$OAUTH_SECRET" -e "$ACCESS" -e "$PKCE_SECRET" -e "$ERP_SECRET" -e "$HTTP_ACCESS" "$CREDLEDGER_DB" "$EXPORT_DIR"; then echo "FOUND A SECRET ON DISK"; exit 1; else echo "no plaintext secret in $CREDLEDGER_DB or $EXPORT_DIR"; fi
printf '\nThe company API page (the seeds\x27 admin screen): %s serve --dev-login, then open http://127.0.0.1:8080/companies/acme/api and sign in as alice@acme.example\n' "$CL"
