package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jsrt-script/jsrt-script/scripts/types"
)

// typesCmd writes jsrt.d.ts (the declarations of the jsrt API) into a
// directory, replacing an older copy; "-" prints it instead.
func typesCmd(env *Env, args []string) int {
	fs := newFlags(env, "types", "[DIR|-]")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		errorf(env, "types: one directory at most, got %d arguments; usage: jsrt-script types [DIR]", len(pos))
		return ExitUsage
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	if dir == "-" {
		env.Stdout.Write(types.DTS)
		return ExitOK
	}
	abs := dir
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(env.Cwd, dir)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		errorf(env, "types: directory %q does not exist", dir)
		return ExitUsage
	case err != nil:
		errorf(env, "types: %v", err)
		return ExitUsage
	case !st.IsDir():
		errorf(env, "types: %q is not a directory", dir)
		return ExitUsage
	}
	if err := os.WriteFile(filepath.Join(abs, types.FileName), types.DTS, 0o644); err != nil {
		errorf(env, "types: cannot write %s: %v", filepath.Join(dir, types.FileName), unwrapPathErr(err))
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "wrote %s\n", filepath.Join(dir, types.FileName))
	return ExitOK
}

// unwrapPathErr drops the path of an *os.PathError (the message names it).
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
