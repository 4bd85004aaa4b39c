// Package scripts holds the JavaScript that ships inside the binary: the
// default policies (readable, importable as require("jsrt/policies/NAME"),
// and the rules the scheduler applies when no hook replaces them), and the
// example strategies.
package scripts

import "embed"

// Policies are the files under policies/, by name without ".js".
//
//go:embed policies/*.js
var Policies embed.FS
