#!/usr/bin/env python3
"""Independent verifier for the logon assertion: trusts only a JWKS document and PyJWT.

  verify_jwt.py --jwks FILE --token FILE --aud AUD [--iss ISS] [--batch]

Picks the key by the token header's kid, checks the ES256 signature, exp/iat, aud and (when given)
iss with PyJWT, then prints the verified claims as JSON on stdout and exits 0; on any failure prints
the error on stderr and exits 1. With --batch the token file holds one token per line and the output
is a JSON array of the claims, in order (exit 1 when any token fails, naming its line).

Needs python3-jwt (2.6) and python3-cryptography: Debian's /usr/bin/python3 has them.
"""

import argparse
import json
import sys

import jwt


def load_keys(path):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no \"keys\" array")
    keys = {}
    for jwk in jwt.PyJWKSet(document["keys"]).keys:
        if jwk.key_id is None:
            continue
        if jwk.public_key_use not in (None, "sig"):
            continue
        keys.setdefault(jwk.key_id, jwk)  # first wins, as in the C++ JwksDocument
    return keys


def verify(token, keys, audience, issuer):
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "ES256":
        raise ValueError("token alg is %r, not ES256" % header.get("alg"))
    kid = header.get("kid")
    if kid not in keys:
        raise ValueError("no key with kid %r in the JWKS" % kid)
    required = ["exp", "iat", "aud", "sub"] + (["iss"] if issuer is not None else [])
    return jwt.decode(
        token,
        keys[kid].key,
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": required},
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jwks", required=True, help="JWKS document ({\"keys\":[...]})")
    parser.add_argument("--token", required=True, help="file holding the compact JWS")
    parser.add_argument("--aud", required=True, help="expected audience")
    parser.add_argument("--iss", help="expected issuer (checked when given)")
    parser.add_argument("--batch", action="store_true", help="one token per line; print an array")
    args = parser.parse_args(argv)
    try:
        keys = load_keys(args.jwks)
        with open(args.token, encoding="ascii") as f:
            text = f.read()
        if args.batch:
            out = []
            for line_no, line in enumerate(text.splitlines(), start=1):
                token = line.strip()
                if not token:
                    continue
                try:
                    out.append(verify(token, keys, args.aud, args.iss))
                except Exception as e:  # noqa: BLE001 - any failure is a verification failure
                    raise ValueError("line %d: %s: %s" % (line_no, type(e).__name__, e)) from e
        else:
            out = verify(text.strip(), keys, args.aud, args.iss)
    except Exception as e:  # noqa: BLE001
        print("verify_jwt: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
