#!/usr/bin/env bash
# The JUnit schema that `flow test --format junit` is validated against: Jenkins'
# junit-4.xsd, as the junit-report crate ships it (tests/JUnit.xsd), fetched from the
# crate registry with cargo. Writes DIR/JUnit.xsd (default: target/ci/junit) and
# prints its path. tests/junit_schema.rs reads it from FLOW_TEST_JUNIT_XSD.
set -euo pipefail
dir="${1:-target/ci/junit}"
version=0.9.1
if [ ! -f "$dir/JUnit.xsd" ]; then
    mkdir -p "$dir/fetch/src"
    cat > "$dir/fetch/Cargo.toml" <<TOML
[package]
name = "junit-schema-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
junit-report = "=$version"

[workspace]
TOML
    : > "$dir/fetch/src/lib.rs"
    cargo fetch --quiet --manifest-path "$dir/fetch/Cargo.toml"
    crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/junit-report-$version.crate | head -n 1)
    tar xzf "$crate" -C "$dir" --strip-components=2 "junit-report-$version/tests/JUnit.xsd"
fi
cd "$dir" && echo "$PWD/JUnit.xsd"
