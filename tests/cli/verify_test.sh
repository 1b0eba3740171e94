#!/bin/sh
# `cipherline verify`: real SEV-SNP evidence accepted, each kind of tampering
# rejected with the failing check named (exit 1), bad input refused with a
# message saying what is wrong (exit 2).
set -u
bin="$1"
vectors="$2"
failures=0

check() {  # check NAME EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
  name="$1"; want_status="$2"; want_text="$3"; shift 4
  out=$("$@" 2>&1); status=$?
  if [ "$status" -ne "$want_status" ]; then
    echo "FAIL $name: exit status $status, expected $want_status; output: $out"
    failures=$((failures + 1))
  elif ! printf '%s' "$out" | grep -qF -- "$want_text"; then
    echo "FAIL $name: output lacks '$want_text': $out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
snp="$vectors/attest/vectors/snp"
report="$snp/milan_go_sev_guest_report.bin"
vcek="$snp/milan_go_sev_guest_vcek.der"
at=2026-06-01T00:00:00Z

check snp-verified 0 "AMD SEV-SNP attestation report: verified" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at"
check snp-pem-vcek-v5 0 "PASS report signature" -- \
  "$bin" verify snp --report "$snp/milan_gcp_v5_report.bin" --vcek "$snp/milan_gcp_vcek.pem" --at "$at"
od -An -tx1 -v "$report" >"$tmp/report.hex"
check snp-hex-report 0 "PASS chip ID" -- \
  "$bin" verify snp --report "$tmp/report.hex" --vcek "$vcek" --at "$at"
check snp-json 0 '"passed":true' -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --json
check snp-explicit-chain 0 "PASS ARK" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --chain "$vectors/crypto/vectors/ask_ark_milan.pem"

# Rejections: exit 1 and the failing check named.
cp "$report" "$tmp/tampered.bin"
printf '\377' | dd of="$tmp/tampered.bin" bs=1 seek=144 conv=notrunc 2>/dev/null  # MEASUREMENT
check snp-tampered 1 "FAIL report signature" -- \
  "$bin" verify snp --report "$tmp/tampered.bin" --vcek "$vcek" --at "$at"
check snp-expired 1 "FAIL certificate chain" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at 2060-01-01
check snp-wrong-product 1 "FAIL product: expected Genoa, got Milan" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --chain "$vectors/crypto/vectors/ask_ark_genoa.pem"
check snp-other-vcek 1 "FAIL chip ID" -- \
  "$bin" verify snp --report "$report" --vcek "$snp/milan_virtee_vcek.der" --at "$at"
check snp-report-data 1 "FAIL report data" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --report-data "$(printf '00%.0s' $(seq 64))"
cat >"$tmp/reference.json" <<'JSON'
{"ProductName":"Milan","TrustedMeasurement":"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
 "MinimumTCB":{"BootloaderVersion":2,"TEEVersion":0,"SNPVersion":5,"MicrocodeVersion":68},"GuestPolicy":{"SMT":true}}
JSON
check snp-reference 1 "FAIL measurement" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --reference "$tmp/reference.json"
check snp-debug-policy 1 "DEBUG set but not allowed" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --reference "$tmp/reference.json"

# Bad input: exit 2 with what is wrong.
head -c 100 "$report" >"$tmp/short.bin"
check snp-short 2 "SNP report: 100 bytes, expected 1184" -- \
  "$bin" verify snp --report "$tmp/short.bin" --vcek "$vcek"
check snp-missing-file 2 "--report $tmp/none.bin: No such file or directory" -- \
  "$bin" verify snp --report "$tmp/none.bin" --vcek "$vcek"
check snp-bad-time 2 "--at expects an RFC 3339 time" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at yesterday
check snp-bad-vcek 2 "--vcek $report" -- "$bin" verify snp --report "$report" --vcek "$report"
printf '{"ProductName":"Rome"}' >"$tmp/bad-reference.json"
check snp-bad-reference 2 "'Rome' is not Milan, Genoa or Turin" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --reference "$tmp/bad-reference.json"
check snp-no-crl 0 "PASS AMD CRL: none given: revocation not checked" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at"
check snp-require-crl 1 "FAIL AMD CRL" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --require-crl
# A CRL that is not the ARK's (Intel's root CRL) fails closed, or is reported and ignored.
check snp-foreign-crl 1 "FAIL AMD CRL: expected signed by the ARK" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --crl "$vectors/crypto/vectors/intel_root_crl.der"
check snp-foreign-crl-open 0 "revocation not checked" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at "$at" --crl "$vectors/crypto/vectors/intel_root_crl.der" --crl-fail-open
check snp-time-offset 1 "FAIL certificate chain" -- \
  "$bin" verify snp --report "$report" --vcek "$vcek" --at 2060-01-01T12:00:00+02:00

tdx="$vectors/attest/vectors/tdx"
# Without collateral the quote cannot be judged: a verdict is refused (exit
# 1, naming what was not checked) unless --quote-only asks for less.
check tdx-no-collateral 1 "FAIL collateral: expected PCS collateral (--collateral DIR), got none given: TCB status, QE identity, TDX module identity and revocation not checked" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2024-06-01
check tdx-quote-only 0 "Intel TDX quote: verified" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2024-06-01 --quote-only
check tdx-quote-only-says-so 0 "not checked: TCB status, QE identity, TDX module identity and revocation" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2024-06-01 --quote-only
mkdir "$tmp/collateral"
cp "$tdx/go_tdx_guest_tcb_info.json" "$tmp/collateral/tcb_info.json"
cp "$tdx/go_tdx_guest_qe_identity.json" "$tmp/collateral/qe_identity.json"
cp "$tdx/intel_tcb_signing.pem" "$tmp/collateral/tcb_signing.pem"
cp "$tdx/go_tdx_guest_pck_crl.der" "$tmp/collateral/pck_crl.der"
cp "$tdx/go_tdx_guest_root_crl.der" "$tmp/collateral/root_crl.der"
check tdx-collateral 0 "PASS TCB status: UpToDate" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2023-07-01T00:00:00Z --collateral "$tmp/collateral"
check tdx-collateral-revocation 0 "PASS PCK revocation: not listed" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2023-07-01T00:00:00Z --collateral "$tmp/collateral"
check tdx-collateral-expired 1 "FAIL TCB info freshness" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2024-06-01 --collateral "$tmp/collateral"
# Unsigned collateral and missing CRLs fail closed unless explicitly allowed.
mkdir "$tmp/unsigned"
cp "$tmp/collateral/tcb_info.json" "$tmp/collateral/qe_identity.json" "$tmp/unsigned/"
check tdx-collateral-unsigned 1 "FAIL TCB signing certificate" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2023-07-01T00:00:00Z --collateral "$tmp/unsigned"
check tdx-collateral-no-crl 1 "FAIL PCK CRL" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2023-07-01T00:00:00Z --collateral "$tmp/unsigned" \
  --allow-unsigned-collateral
check tdx-collateral-allowed-claims 0 "PCK CRL: not checked: none given (allowed by policy)" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2023-07-01T00:00:00Z --collateral "$tmp/unsigned" \
  --allow-unsigned-collateral --allow-missing-crl
cp "$tdx/trustee_v4_quote.dat" "$tmp/quote.dat"
printf '\377' | dd of="$tmp/quote.dat" bs=1 seek=200 conv=notrunc 2>/dev/null  # in the TD body
check tdx-tampered 1 "FAIL quote signature" -- "$bin" verify tdx --quote "$tmp/quote.dat" --at 2024-06-01 --quote-only
zeros48=$(printf '00%.0s' $(seq 48))
printf '{"MrTd":"%s","Rtmrs":["%s","%s","%s","%s"]}' "$zeros48" "$zeros48" "$zeros48" "$zeros48" "$zeros48" >"$tmp/tdx-reference.json"
check tdx-reference 1 "FAIL MRTD" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --at 2024-06-01 --quote-only --reference "$tmp/tdx-reference.json"
printf '{"MrTd":"00","Rtmrs":[]}' >"$tmp/bad-tdx-reference.json"
check tdx-bad-reference 2 "tdx.MrTd: 2 hex digits, expected 96" -- \
  "$bin" verify tdx --quote "$tdx/trustee_v4_quote.dat" --reference "$tmp/bad-tdx-reference.json"
check tdx-missing-collateral 2 "qe_identity.json is missing" -- \
  sh -c "rm \"$tmp/collateral/qe_identity.json\"; \"$bin\" verify tdx --quote \"$tdx/trustee_v4_quote.dat\" --collateral \"$tmp/collateral\""
check tdx-not-a-quote 2 "TDX quote" -- "$bin" verify tdx --quote "$report"

gpu="$vectors/attest/vectors/nvgpu"
gpu_nonce=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb  # the sample's request
check gpu-verified 0 "NVIDIA GPU attestation report: verified" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/h100_cert_chain.pem" --at 2024-06-01 \
  --driver 550.90.07 --vbios 96.00.9f.00.01 --nonce "$gpu_nonce"
# Without --nonce freshness cannot be judged: said plainly, and not a pass.
check gpu-no-nonce-rejected 1 "FAIL nonce: expected the verifier's nonce, got not checked: no nonce given, so freshness is not established" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/h100_cert_chain.pem" --at 2024-06-01
check gpu-no-nonce-claim 1 "freshness: not established (no --nonce given)" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/h100_cert_chain.pem" --at 2024-06-01
check gpu-wrong-nonce 1 "FAIL nonce" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/h100_cert_chain.pem" --at 2024-06-01 \
  --nonce "$(printf '00%.0s' $(seq 32))"
check gpu-driver 1 "FAIL driver version" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/h100_cert_chain.pem" --at 2024-06-01 \
  --driver 535.104.05,545.23.08 --nonce "$gpu_nonce"
printf '[{"index":2,"values":["%s"]}]' "$(printf '00%.0s' $(seq 48))" >"$tmp/gpu-reference.json"
check gpu-measurement 1 "FAIL measurement 2" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/h100_cert_chain.pem" --at 2024-06-01 \
  --reference "$tmp/gpu-reference.json" --nonce "$gpu_nonce"
check gpu-foreign-root-chain 1 "FAIL certificate chain" -- \
  "$bin" verify gpu --report "$gpu/h100_report.txt" --chain "$gpu/nvidia_corim_signing_root_ca.pem" --at 2024-06-01
check gpu-not-a-report 2 "SPDM" -- \
  "$bin" verify gpu --report "$report" --chain "$gpu/h100_cert_chain.pem"

printf '{"Policies":{}}' >"$tmp/manifest.json"
printf 'not json' >"$tmp/doc.json"
nonce=$(printf '07%.0s' $(seq 32))
check coordinator-unparsable 2 "attestation document: not JSON" -- \
  "$bin" verify coordinator --doc "$tmp/doc.json" --nonce "$nonce" --manifest "$tmp/manifest.json"
check coordinator-short-nonce 2 "--nonce must be 32 bytes" -- \
  "$bin" verify coordinator --doc "$tmp/doc.json" --nonce 0011 --manifest "$tmp/manifest.json"
check coordinator-no-trust-dir 2 "sev-snp-dev-cert-chain.pem: No such file or directory" -- \
  "$bin" verify coordinator --doc "$tmp/doc.json" --nonce "$nonce" --manifest "$tmp/manifest.json" --dev-trust "$tmp"
check coordinator-no-tdx-collateral 2 "tcb_info.json is missing" -- \
  "$bin" verify coordinator --doc "$tmp/doc.json" --nonce "$nonce" --manifest "$tmp/manifest.json" --tdx-collateral "$tmp"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
