#!/usr/bin/env python3
"""Cross-implementation test vectors for GEO v0.1 canonical JSON, PIDs and Ed25519 signatures.

This is an implementation independent of the Rust crate `geo-protocol`: PyNaCl (libsodium) for
Ed25519, the `base58` package for PIDs and Python's own `json` module for canonical JSON. It
writes `vectors.json` next to itself; `protocol/tests/vectors.rs` checks the Rust side against it.

    pip install pynacl base58
    python3 tests/vectors/generate.py

Deterministic: every seed is sha256("geo-v0.1-test-vector/" + label), and Ed25519 signatures are
deterministic, so rerunning the script reproduces the file byte for byte.

Canonical JSON (GEO v0.1 Appendix A) is
    json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
which was checked (see `check_escaping_matches_rust_rules`, run on every generation) to agree with
the Rust rules for every Unicode scalar value U+0000..U+10FFFF except the surrogates: `\\" \\\\ \\n
\\r \\t \\b \\f`, `\\u00xx` (lowercase hex) for the other controls below U+0020, everything else
raw UTF-8 -- including DEL (U+007F), C1 controls (U+0080..U+009F), U+2028/U+2029, U+FEFF and
non-BMP characters. Python's `sort_keys` orders keys by code point, which is the same order as
comparing their UTF-8 bytes (it is NOT the UTF-16 order of RFC 8785 / JavaScript; one vector
exercises exactly that difference).

Where Python and the Rust rules differ, so the vectors leave these out on purpose:
  * lone surrogates (e.g. "\\ud800"): Python strings can hold them and json.dumps emits them raw,
    which is not valid UTF-8; Rust strings cannot hold them at all (serde_json rejects the escape).
  * floats: json.dumps writes 1.5, the Rust encoder refuses any non-integer number.
  * integers outside [-2^63, 2^64-1]: Python writes them exactly, serde_json (without
    `arbitrary_precision`) parses them as f64 and the Rust encoder then refuses them as floats.
  * NaN/Infinity: json.dumps writes them unless allow_nan=False (which is passed here).
"""

import base64
import hashlib
import json
import os
import sys

import base58
import nacl.exceptions
import nacl.signing

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors.json")

# Order of the Ed25519 group, for the malleability vector (S + L).
ED25519_L = 2**252 + 27742317777372353535851937790883648493


def canonical(obj):
    """Canonical JSON text of `obj`, the Python way."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def signing_text(body):
    """Canonical JSON of the body without its top-level `signature` field."""
    return canonical({k: v for k, v in body.items() if k != "signature"})


def rust_rules_string(s):
    """The string escaping of protocol/src/canonical.rs, transcribed, for the self-check."""
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    out = ['"']
    for ch in s:
        if ch in short:
            out.append(short[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def check_escaping_matches_rust_rules():
    """Every scalar value, alone and as a key, must encode the same both ways."""
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # lone surrogates: not representable in Rust, left out (see above)
        s = chr(cp)
        expected = rust_rules_string(s)
        got = json.dumps(s, ensure_ascii=False)
        if got != expected:
            sys.exit("json.dumps differs from the Rust rules at U+%04X: %r vs %r" % (cp, got, expected))
    # Code point order == UTF-8 byte order (the Rust encoder sorts keys by bytes).
    keys = ["\uff61", "\U0001f600", "a", "B", "\u00e9", "\u0000", "~", "\u007f"]
    by_python = sorted(keys)
    by_bytes = sorted(keys, key=lambda k: k.encode("utf-8"))
    assert by_python == by_bytes, (by_python, by_bytes)


def seed_for(label):
    return hashlib.sha256(("geo-v0.1-test-vector/" + label).encode("utf-8")).digest()


class Key:
    def __init__(self, label):
        self.label = label
        self.seed = seed_for(label)
        self.sk = nacl.signing.SigningKey(self.seed)
        self.pk = bytes(self.sk.verify_key)
        self.public_key = base64.b64encode(self.pk).decode("ascii")
        self.pid = base58.b58encode(hashlib.sha256(self.pk).digest()).decode("ascii")

    def sign_text(self, text):
        return base64.b64encode(self.sk.sign(text.encode("utf-8")).signature).decode("ascii")


def verifies(public_key_b64, text, signature_b64):
    vk = nacl.signing.VerifyKey(base64.b64decode(public_key_b64))
    try:
        vk.verify(text.encode("utf-8"), base64.b64decode(signature_b64))
        return True
    except nacl.exceptions.BadSignatureError:
        return False


ALICE = Key("alice")
BOB = Key("bob")
CAROL = Key("carol")
HUB = Key("hub")
UNICODE = Key("unicode")
TRICKY = Key("tricky")
MALLORY = Key("mallory")


def valid_case(name, key, body, note=None):
    text = signing_text(body)
    case = {
        "name": name,
        "valid": True,
        "seed": key.seed.hex(),
        "public_key": key.public_key,
        "pid": key.pid,
        "body": body,
        "canonical": text,
        "signature": key.sign_text(text),
    }
    if note:
        case["note"] = note
    return case


def invalid_case(name, key, body, signature, note):
    """`key` is the claimed signer; `signature` must NOT verify over the body under that key."""
    return {
        "name": name,
        "valid": False,
        "seed": key.seed.hex(),
        "public_key": key.public_key,
        "pid": key.pid,
        "body": body,
        "canonical": signing_text(body),
        "signature": signature,
        "note": note,
    }


def build_cases():
    cases = []

    # --- the GEO requests -----------------------------------------------------------------
    registration = {
        "display_name": "Alice",
        "type": "person",
        "public_key": ALICE.public_key,
        "profile": {"city": "Kyiv", "about": "Baker, accepts UAH and hours"},
    }
    cases.append(valid_case("participant_registration", ALICE, registration))

    cases.append(
        valid_case(
            "participant_registration_organization_empty_profile",
            HUB,
            {"display_name": "Hub One", "type": "organization", "public_key": HUB.public_key, "profile": {}},
        )
    )

    trust_line = {
        "to": BOB.pid,
        "equivalent": "UAH",
        "limit": "1000.00",
        "policy": {
            "auto_clearing": True,
            "can_be_intermediate": True,
            "max_hop_usage": None,
            "daily_limit": "250.50",
            "blocked": [],
        },
    }
    cases.append(valid_case("trust_line_create", ALICE, trust_line))

    cases.append(
        valid_case(
            "trust_line_create_blocked_list",
            BOB,
            {
                "to": CAROL.pid,
                "equivalent": "HOUR",
                "limit": "40",
                "policy": {
                    "auto_clearing": False,
                    "can_be_intermediate": False,
                    "max_hop_usage": "0",
                    "daily_limit": None,
                    "blocked": [MALLORY.pid, HUB.pid],
                },
            },
        )
    )

    payment = {
        "tx_id": "3f2b8c1e-9a4d-4e6f-8b21-7c5d0e9a1f34",
        "to": CAROL.pid,
        "equivalent": "UAH",
        "amount": "12.34",
        "description": "bread and coffee",
        "constraints": {"max_hops": 6, "max_paths": 3, "avoid": [MALLORY.pid]},
    }
    cases.append(valid_case("payment", ALICE, payment))

    cases.append(
        valid_case(
            "payment_empty_constraints_and_description",
            CAROL,
            {
                "tx_id": "00000000-0000-4000-8000-000000000000",
                "to": ALICE.pid,
                "equivalent": "EUR",
                "amount": "0.01",
                "description": "",
                "constraints": {"max_hops": 0, "max_paths": 1, "avoid": []},
            },
        )
    )

    # A signed request as it travels: the top-level `signature` is not covered by itself.
    signed_payment = dict(payment)
    signed_payment["tx_id"] = "7d1e0c55-2b9f-4b0a-9e3c-5f6a7b8c9d0e"
    signed_payment["signature"] = ALICE.sign_text(signing_text(signed_payment))
    cases.append(
        valid_case(
            "body_includes_top_level_signature_field",
            ALICE,
            signed_payment,
            note="the top-level signature field is removed before canonicalization",
        )
    )

    # --- tricky canonicalization ------------------------------------------------------------
    cases.append(
        valid_case(
            "unicode_display_name",
            UNICODE,
            {
                "display_name": "Олександра Ковальчук 🍞 Zoë — 日本語 ",
                "type": "person",
                "public_key": UNICODE.public_key,
                "profile": {"emoji": "👩🏽‍🌾", "combining": "e\u0301", "rtl": "שלום", "bom": "\ufeff"},
            },
            note="non-ASCII is emitted raw as UTF-8, never \\u-escaped; no normalization",
        )
    )

    cases.append(
        valid_case(
            "nested_objects_and_empty_containers",
            TRICKY,
            {
                "z": {"y": {"x": {"w": {}}}},
                "a": [[], {}, [{}], [[[]]], {"b": [], "a": {}}],
                "m": {"signature": "nested signature fields are kept", "list": [{"k2": 2, "k1": 1}]},
                "null": None,
                "t": True,
                "f": False,
            },
            note="only the top-level signature key is removed; nested ones are signed",
        )
    )

    cases.append(
        valid_case(
            "key_order_bytes_not_case_or_utf16",
            TRICKY,
            {
                "b": 1,
                "B": 2,
                "a": 3,
                "A": 4,
                "_": 5,
                "~": 6,
                "aa": 7,
                "a ": 8,
                "": 9,
                "10": 10,
                "9": 11,
                "é": 12,
                "z": 13,
                "\uff61": 14,
                "\U0001f600": 15,
                "\u007f": 16,
            },
            note=(
                "uppercase before lowercase, prefix before extension, '10' before '9'; "
                "U+FF61 sorts before U+1F600 by UTF-8 bytes (the UTF-16 order of RFC 8785 is the reverse)"
            ),
        )
    )

    cases.append(
        valid_case(
            "string_escapes",
            TRICKY,
            {
                "quote": 'say "hi"',
                "backslash": "C:\\path\\to\\file",
                "whitespace": "tab\there\nnewline\rreturn",
                "short_controls": "\b\f",
                "other_controls": "\u0000\u0001\u001f\u000b\u001b",
                "not_escaped": "/ \u007f \u0080 \u009f \u2028 \u2029 <script>&'",
                "key\nwith\tescapes\"": "\\u0041 stays literal",
            },
            note=(
                "only \\\" \\\\ \\n \\r \\t \\b \\f and lowercase \\u00xx for other C0 controls; "
                "'/', DEL, C1 controls and U+2028/U+2029 stay raw"
            ),
        )
    )

    cases.append(
        valid_case(
            "large_and_negative_integers",
            TRICKY,
            {
                "u64_max": 18446744073709551615,
                "i64_max": 9223372036854775807,
                "i64_min": -9223372036854775808,
                "above_i64": 9223372036854775808,
                "beyond_f64_precision": 9007199254740993,
                "zero": 0,
                "minus_one": -1,
                "amount_as_string": "123456789012345678901234567890.123456789",
                "list": [0, -0, 1, 100000000000000000000 // 10**10],
            },
            note="integers in [-2^63, 2^64-1] only; amounts travel as decimal strings",
        )
    )

    cases.append(
        valid_case(
            "empty_object",
            CAROL,
            {},
        )
    )

    cases.append(
        valid_case(
            "only_signature_field",
            BOB,
            {"signature": "AAAA"},
            note="canonical form of the body without signature is {}",
        )
    )

    # --- negative cases -------------------------------------------------------------------
    tampered = dict(payment)
    tampered["amount"] = "12.35"
    cases.append(
        invalid_case(
            "tampered_amount",
            ALICE,
            tampered,
            ALICE.sign_text(signing_text(payment)),
            "signature made over amount 12.34, body says 12.35",
        )
    )

    tampered_nested = json.loads(json.dumps(payment))
    tampered_nested["constraints"]["avoid"] = []
    cases.append(
        invalid_case(
            "tampered_nested_avoid_list",
            ALICE,
            tampered_nested,
            ALICE.sign_text(signing_text(payment)),
            "signature made with avoid=[mallory], body has avoid=[]",
        )
    )

    cases.append(
        invalid_case(
            "wrong_key",
            ALICE,
            trust_line,
            MALLORY.sign_text(signing_text(trust_line)),
            "signed by mallory, claimed (public_key/pid) as alice",
        )
    )

    cases.append(
        invalid_case(
            "signed_non_canonical_serialization",
            BOB,
            registration,
            BOB.sign_text(json.dumps(registration)),
            "signature over json.dumps() default output (spaces, insertion order), not canonical JSON",
        )
    )

    # Malleability: S + L is the same signature mathematically but non-canonical; libsodium and
    # ed25519-dalek's verify_strict both refuse it.
    good = base64.b64decode(ALICE.sign_text(signing_text(registration)))
    s = int.from_bytes(good[32:], "little") + ED25519_L
    malleable = good[:32] + s.to_bytes(32, "little")
    cases.append(
        invalid_case(
            "malleable_signature_s_plus_l",
            ALICE,
            registration,
            base64.b64encode(malleable).decode("ascii"),
            "valid signature with L added to S: non-canonical scalar must be refused",
        )
    )

    return cases


def main():
    check_escaping_matches_rust_rules()
    cases = build_cases()
    names = set()
    for case in cases:
        assert case["name"] not in names, case["name"]
        names.add(case["name"])
        assert case["canonical"] == signing_text(case["body"])
        ok = verifies(case["public_key"], case["canonical"], case["signature"])
        assert ok == case["valid"], (case["name"], ok)
        assert base58.b58encode(hashlib.sha256(base64.b64decode(case["public_key"])).digest()).decode() == case["pid"]
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        # Bodies keep their insertion order here (no sort_keys) so the reader must sort itself.
        # The file itself is ASCII (\u escapes) so invisible characters survive editors and diffs.
        json.dump(cases, f, ensure_ascii=True, indent=2)
        f.write("\n")
    print("wrote %d cases (%d valid, %d invalid) to %s"
          % (len(cases), sum(c["valid"] for c in cases), sum(not c["valid"] for c in cases), OUT))


if __name__ == "__main__":
    main()
