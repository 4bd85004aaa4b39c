package core

import (
	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// Explanation says whether a task would hit the cache now, and if not, why.
type Explanation struct {
	Task    string       `json:"task"`
	Key     cache.Digest `json:"key"`
	Hit     bool         `json:"hit"`
	Reasons []string     `json:"reasons"`
}

// Explain computes, in dependency order, the key each task would have if the
// run started now (a dependency's key as computed here), and compares it with
// the cache and with the task's last successful run. It reads files and the
// store and writes nothing but the file index.
func Explain(ws *Workspace, opt RunOptions, tasks []*graph.Task) ([]Explanation, error) {
	r := &cachedRunner{ws: ws, opt: opt, keys: map[string]cache.Digest{}, state: stateRel(ws.Root, opt.LogDir)}
	c := opt.Caching.Cache
	var out []Explanation
	for _, t := range tasks {
		p, err := r.prepare(t, nil)
		if err != nil {
			return nil, err
		}
		r.keys[t.Name] = p.key
		ex := Explanation{Task: t.Name, Key: p.key, Reasons: []string{}}
		switch {
		case t.NoCache:
			ex.Reasons = append(ex.Reasons, "not cached: cache is false")
		case len(t.Inputs) == 0:
			ex.Reasons = append(ex.Reasons, "not cached: the task declares no inputs")
		case opt.Caching.NoCache:
			ex.Reasons = append(ex.Reasons, "not cached: --no-cache")
		default:
			hit, err := c.Has(t.Name, p.key)
			if err != nil {
				return nil, err
			}
			ex.Hit = hit
			if !hit {
				ex.Reasons, err = missReasons(c, t.Name, p.manifest)
				if err != nil {
					return nil, err
				}
			}
		}
		out = append(out, ex)
	}
	return out, opt.Caching.Index.Flush()
}

func missReasons(c *cache.Cache, task string, m cache.Manifest) ([]string, error) {
	last, ok, err := c.LastSuccess(task)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return []string{"no successful run in the cache (never run here, its entries cleared, evicted or invalidated, or its inputs changed while it ran, which is not kept)"}, nil
	}
	diff := cache.Diff(last.Manifest, m)
	if len(diff) == 0 {
		return []string{"same key as the last successful run, but its entry is gone (evicted, expired, invalidated or never stored)"}, nil
	}
	return diff, nil
}
