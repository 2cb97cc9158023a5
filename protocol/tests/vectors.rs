//! Cross-implementation test vectors: `tests/vectors/vectors.json` is produced by an independent
//! Python implementation (PyNaCl + Python's `json` module, see `tests/vectors/generate.py`).
//! For every case this checks the PID, the exact canonical bytes, the (deterministic) Ed25519
//! signature and the verification outcome against the Rust implementation.

use geo_protocol::canonical::{to_canonical_bytes, to_canonical_string};
use geo_protocol::signing::{signing_bytes, SignatureError};
use geo_protocol::{Keypair, Pid, PublicKey};
use serde_json::Value;

const VECTORS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/vectors.json");

fn decode_seed(hex: &str) -> Result<[u8; 32], String> {
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(format!("seed is not 64 hex digits: {hex:?}"));
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte =
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| format!("seed is not hex: {e}"))?;
    }
    Ok(seed)
}

fn field<'a>(case: &'a Value, key: &str) -> Result<&'a str, String> {
    case[key]
        .as_str()
        .ok_or_else(|| format!("missing string field {key:?}"))
}

/// Checks one case; returns a description of the first mismatch.
fn check_case(case: &Value) -> Result<(), String> {
    let valid = case["valid"].as_bool().ok_or("missing bool field \"valid\"")?;
    let seed = decode_seed(field(case, "seed")?)?;
    let public_key = field(case, "public_key")?;
    let pid = field(case, "pid")?;
    let canonical = field(case, "canonical")?;
    let signature = field(case, "signature")?;
    let body = &case["body"];
    if !body.is_object() {
        return Err("body is not an object".into());
    }

    // Keys and PIDs.
    let keypair = Keypair::from_seed(&seed);
    if keypair.public().to_base64() != public_key {
        return Err(format!(
            "public key: rust {} != python {public_key}",
            keypair.public().to_base64()
        ));
    }
    let parsed_key = PublicKey::from_base64(public_key).map_err(|e| format!("public key: {e}"))?;
    if parsed_key != keypair.public() {
        return Err("parsed public key differs from the seed's key".into());
    }
    if keypair.pid().as_str() != pid {
        return Err(format!("pid: rust {} != python {pid}", keypair.pid()));
    }
    if Pid::from_public_key(&parsed_key.to_bytes()).as_str() != pid {
        return Err("pid from the parsed public key differs".into());
    }
    Pid::parse(pid).map_err(|e| format!("pid does not parse: {e}"))?;

    // Canonical bytes: exactly what the signature covers.
    let bytes = signing_bytes(body).map_err(|e| format!("signing_bytes: {e}"))?;
    if bytes != canonical.as_bytes() {
        return Err(format!(
            "canonical bytes differ\n  rust:   {}\n  python: {canonical}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    // Canonical form is a fixed point: parsing it and encoding again changes nothing.
    let reparsed: Value =
        serde_json::from_str(canonical).map_err(|e| format!("canonical is not JSON: {e}"))?;
    if to_canonical_bytes(&reparsed).map_err(|e| e.to_string())? != canonical.as_bytes() {
        return Err("canonical form is not stable under re-encoding".into());
    }
    if body.get("signature").is_none() && to_canonical_string(body).map_err(|e| e.to_string())? != canonical {
        return Err("to_canonical_string(body) differs from signing bytes".into());
    }

    // Signatures.
    let verified = parsed_key.verify_json(body, signature);
    if valid {
        let ours = keypair.sign_json(body).map_err(|e| format!("sign_json: {e}"))?;
        if ours != signature {
            return Err(format!("signature: rust {ours} != python {signature}"));
        }
        verified.map_err(|e| format!("valid case does not verify: {e}"))?;
        let mut signed = keypair.signed(body.clone()).map_err(|e| e.to_string())?;
        if signed["signature"] != signature {
            return Err("Keypair::signed put a different signature".into());
        }
        signed["signature"] = Value::String("ignored by signing_bytes".into());
        if signing_bytes(&signed).map_err(|e| e.to_string())? != canonical.as_bytes() {
            return Err("top-level signature field is not excluded".into());
        }
    } else {
        match verified {
            Err(SignatureError::Invalid) | Err(SignatureError::Malformed) => {}
            Ok(()) => return Err("invalid case verifies".into()),
            Err(e) => return Err(format!("invalid case fails for the wrong reason: {e}")),
        }
    }
    Ok(())
}

#[test]
fn python_vectors_match() {
    let text =
        std::fs::read_to_string(VECTORS_PATH).unwrap_or_else(|e| panic!("cannot read {VECTORS_PATH}: {e}"));
    let cases: Vec<Value> = serde_json::from_str(&text).expect("vectors.json is a JSON list");
    assert!(
        cases.len() >= 12,
        "expected at least 12 cases, got {}",
        cases.len()
    );
    assert!(
        cases.iter().any(|c| c["valid"] == Value::Bool(false)),
        "expected negative cases"
    );
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, case)| {
            let name = case["name"].as_str().unwrap_or("?");
            check_case(case).err().map(|e| format!("case {i} ({name}): {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn integers_out_of_rust_range_are_refused_not_reencoded() {
    // The vectors stop at [-2^63, 2^64-1]; beyond that serde_json reads a float, which the
    // canonical encoder refuses rather than signing a rounded number (Python would sign it exactly).
    let v: Value = serde_json::from_str(r#"{"n":18446744073709551616}"#).unwrap();
    assert!(to_canonical_bytes(&v).is_err());
}
