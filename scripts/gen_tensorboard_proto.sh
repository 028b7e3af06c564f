#!/usr/bin/env bash
# Regenerates the Swift of proto/tensorboard_event.proto with protoc (Debian:
# apt-get install protobuf-compiler) and swift-protobuf's protoc-gen-swift,
# built from the package's own checkout (a debug build of the plugin takes
# about 3 minutes, which is why the generated file is committed and CI never
# runs this). The committed file came from protoc 3.21.12 and swift-protobuf 1.39.0.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "gen_tensorboard_proto: needs protoc (apt-get install protobuf-compiler)"; exit 1; }
swift package resolve
plugin_dir=.build/protoc-gen-swift
if ! [ -x "$plugin_dir/protoc-gen-swift" ]; then
  swift build --package-path .build/checkouts/swift-protobuf --scratch-path "$plugin_dir/build" --product protoc-gen-swift
  cp "$plugin_dir/build/debug/protoc-gen-swift" "$plugin_dir/"
fi
protoc --plugin=protoc-gen-swift="$plugin_dir/protoc-gen-swift" --proto_path=proto \
  --swift_opt=Visibility=Package --swift_out=Sources/TesseraRuntime/Trace/TensorBoard proto/tensorboard_event.proto
echo "wrote Sources/TesseraRuntime/Trace/TensorBoard/tensorboard_event.pb.swift"
