// The `Tessera` library: every layer of the framework under one import.
//
// The layers are separate SwiftPM targets stacked in one direction (see
// Package.swift and DESIGN.md), so the compiler refuses an upward
// reference; this module only re-exports them for the CLI, the tests and
// users who want everything.
@_exported import TesseraSupport
@_exported import TesseraKernels
@_exported import TesseraComm
@_exported import TesseraTopology
@_exported import TesseraModel
@_exported import TesseraCost
@_exported import TesseraRuntime
@_exported import TesseraTools
