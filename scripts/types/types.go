// Package types ships the TypeScript declarations of the jsrt API
// (jsrt.d.ts) inside the binary, for `jsrt-script types` and `init`.
package types

import _ "embed"

// FileName is the name the declarations are written under.
const FileName = "jsrt.d.ts"

// DTS is the content of jsrt.d.ts.
//
//go:embed jsrt.d.ts
var DTS []byte
