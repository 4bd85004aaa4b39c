package cli

import (
	"context"
	"runtime"

	"github.com/jsrt-script/jsrt-script/runtime/core"
)

func explainCmd(env *Env, args []string) int {
	fs := newFlags(env, "explain", "STRATEGY.js TASK... [--json] [--state-dir DIR]")
	asJSON := fs.Bool("json", false, "print JSON")
	stateDir := fs.String("state-dir", "", "use state in `DIR` instead of .jsrt at the workspace root")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		errorf(env, "explain: usage: jsrt-script explain STRATEGY.js TASK...")
		return ExitUsage
	}
	ws, err := loadOnly(env, pos[0], pos[2:])
	if err != nil {
		return report(env, err)
	}
	if err := ws.Graph.Validate(); err != nil {
		return report(env, err)
	}
	tasks, err := ws.Graph.Closure(pos[1:])
	if err != nil {
		return report(env, err)
	}
	s := &session{env: env, flags: runFlags{jobs: runtime.NumCPU(), stateDir: *stateDir}}
	defer s.close()
	if err := s.openState(context.Background(), s.stateDir(ws), false); err != nil {
		return report(env, err)
	}
	exps, err := core.Explain(ws, core.RunOptions{Env: env.Environ, Caching: &core.Caching{Cache: s.cache, Index: s.index}}, tasks)
	if err != nil {
		return report(env, err)
	}
	if *asJSON {
		return printJSON(env, exps)
	}
	printExplanations(env.Stdout, exps)
	return ExitOK
}
