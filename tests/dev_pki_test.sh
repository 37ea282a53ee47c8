#!/bin/sh
# deploy/dev-pki.sh (docker-compose's `pki` service) makes a PKI the services accept: every
# certificate chains to the CA, carries the identity it is for, and passes each service's start-up
# check (they get past configuration, exit 2, to the unreachable database, exit 3).
set -u
src=$1
bin=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/deploy/dev-pki.sh" "$tmp/pki" || fail "dev-pki.sh exited $?"
pki=$tmp/pki
for n in sync-worker directory ingress admin reader; do
  openssl verify -CAfile "$pki/ca.pem" "$pki/$n.pem" >/dev/null || fail "$n.pem does not chain to ca.pem"
done
[ ! -e "$pki/ca.key" ] || fail "the CA key was left beside the certificates"
for pair in ingress:spiffe://sase.internal/ingress admin:spiffe://sase.internal/admin/dev \
            reader:spiffe://sase.internal/reader/dev sync-worker:DNS:sync-worker directory:DNS:directory; do
  n=${pair%%:*}
  want=${pair#*:}
  case $want in spiffe:*) want="URI:$want" ;; esac
  openssl x509 -in "$pki/$n.pem" -noout -ext subjectAltName | grep -q "$want" || fail "$n.pem lacks SAN $want"
done
before=$(cat "$pki/ca.pem")
"$src/deploy/dev-pki.sh" "$pki" 2>/dev/null || fail "a second run failed"
[ "$before" = "$(cat "$pki/ca.pem")" ] || fail "a second run replaced the PKI"

export SASE_TEST_KEK=ZGVtby1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=
tls() { echo "--grpc_tls_cert_file=$pki/$1.pem --grpc_tls_key_file=$pki/$1.key --grpc_tls_ca_file=$pki/ca.pem"; }
# shellcheck disable=SC2046
"$bin/services/sync_worker/sync_worker" --pg_dsn=postgresql://127.0.0.1:1/none --kek_env=SASE_TEST_KEK \
  --listen_addr=0.0.0.0:0 --metrics_addr=127.0.0.1:0 $(tls sync-worker) >"$tmp/sw.log" 2>&1
rc=$?
[ $rc -eq 3 ] || { cat "$tmp/sw.log" >&2; fail "sync_worker exited $rc, expected 3 (database unreachable)"; }
# shellcheck disable=SC2046
"$bin/services/directory/directory" --pg_dsn=postgresql://127.0.0.1:1/none --listen_addr=0.0.0.0:0 \
  --metrics_addr=127.0.0.1:0 $(tls directory) >"$tmp/dir.log" 2>&1
rc=$?
[ $rc -eq 3 ] || { cat "$tmp/dir.log" >&2; fail "directory exited $rc, expected 3 (database unreachable)"; }
# The same services refuse a certificate that is not theirs to hold: a key of another certificate.
"$bin/services/directory/directory" --pg_dsn=postgresql://127.0.0.1:1/none --listen_addr=0.0.0.0:0 \
  --metrics_addr=127.0.0.1:0 --grpc_tls_cert_file="$pki/directory.pem" --grpc_tls_key_file="$pki/admin.key" \
  --grpc_tls_ca_file="$pki/ca.pem" >"$tmp/bad.log" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "directory with a mismatched key exited $rc, expected 2"
grep -q "config key grpc_tls_key_file: the key does not match" "$tmp/bad.log" || fail "no line names grpc_tls_key_file"
echo "dev-pki: ok"
