#!/bin/sh
# A development PKI for internal mutual TLS: one CA and a certificate per process, with the
# identities the services authorize (README, "Security notes"):
#   sync-worker, directory      server certificates (DNS names of their compose/k8s services)
#   ingress                     spiffe://<domain>/ingress   (SubmitEvents, GetCallbackKeys, logons)
#   admin                       spiffe://<domain>/admin     (sasectl, the console)
#   reader                      spiffe://<domain>/reader    (directory readers)
# Usage: deploy/dev-pki.sh DIR [TRUST_DOMAIN]. Existing files are kept (run once per stack).
# Production uses its own CA (e.g. cert-manager) with the same SANs; this is for compose and tests.
set -eu
dir=${1:?usage: dev-pki.sh DIR [TRUST_DOMAIN]}
domain=${2:-sase.internal}
days=${SASE_PKI_DAYS:-365}
mkdir -p "$dir"
cd "$dir"
if [ -s ca.pem ] && [ -s reader.pem ]; then
  echo "dev-pki: $dir already holds a PKI; keeping it" >&2
  exit 0
fi
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days "$days" \
  -subj "/CN=sase-dev-ca" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() {  # name, subjectAltName
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
local_names="DNS:localhost,IP:127.0.0.1"
issue sync-worker "DNS:sync_worker,DNS:sync-worker,DNS:sase-dingtalk-sync-worker,$local_names,URI:spiffe://$domain/sync-worker"
issue directory "DNS:directory,DNS:sase-dingtalk-directory,$local_names,URI:spiffe://$domain/directory"
issue ingress "URI:spiffe://$domain/ingress"
issue admin "URI:spiffe://$domain/admin/dev"
issue reader "URI:spiffe://$domain/reader/dev"
# No CA key is left beside the certificates the services mount: rerun on an empty DIR to re-issue.
rm -f ca.srl ca.key
# The services run as uid 10001: the keys must be readable by it, and by nobody else.
chmod 0644 ./*.pem
chmod 0640 ./*.key
if [ "$(id -u)" = 0 ]; then chown 10001 ./*.key; fi
echo "dev-pki: CA and certificates for sync-worker, directory, ingress, admin, reader in $dir" >&2
