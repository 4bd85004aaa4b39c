package sched

import (
	"container/heap"
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// A batch runs several ready tasks that share a batch key as one process:
// their shared command with {inputs} and {changed} covering all their
// inputs. It takes one slot; its result is each member's result.

// batchUp starts t, and with it the other ready tasks of its batch key that
// the batch policy puts in the same batch.
func (l *loop) batchUp(ctx context.Context, t *graph.Task, pool string) {
	members := []readyItem{{t: t}}
	var others []readyItem
	for l.plan.ready.Len() > 0 {
		it := heap.Pop(&l.plan.ready).(readyItem)
		if it.t.Batch == t.Batch && !l.plan.spec[it.t.ID] {
			members = append(members, it)
		} else {
			others = append(others, it)
		}
	}
	groups, err := l.groups(members)
	if err != nil {
		l.failPolicy(err)
		for _, it := range append(members[1:], others...) {
			heap.Push(&l.plan.ready, it)
		}
		return
	}
	chosen := map[string]bool{}
	for _, g := range groups {
		for _, n := range g {
			if n == t.Name {
				for _, m := range g {
					chosen[m] = true
				}
			}
		}
	}
	var batch []*graph.Task
	for i, it := range members {
		if i == 0 || chosen[it.t.Name] {
			batch = append(batch, it.t)
		} else {
			others = append(others, it)
		}
	}
	for _, it := range others {
		heap.Push(&l.plan.ready, it)
	}
	if len(batch) == 1 {
		l.launch(ctx, t, pool)
		return
	}
	l.launchBatch(ctx, batch, pool)
}

// groups asks the batch policy (the hook or DefaultBatch).
func (l *loop) groups(members []readyItem) ([][]string, error) {
	infos := make([]TaskInfo, len(members))
	for i, it := range members {
		infos[i] = l.prio.info(it.t, l.plan.reports[it.t.ID].Attempts+1, 0)
	}
	if h := l.opt.Hooks.Batch; h != nil {
		return h(infos)
	}
	return DefaultBatch(infos), nil
}

// batchTask is the one task the runner sees for a batch: the members'
// shared command over the union of their inputs and outputs.
func batchTask(members []*graph.Task, pool string) *graph.Task {
	first := *members[0]
	bt := &first
	h := fnv.New32a()
	for _, m := range members {
		h.Write([]byte(m.Name + "\x00"))
	}
	// The members' hash keeps batches apart in logs and history.
	bt.Name = fmt.Sprintf("%s×%d-%06x", first.Batch, len(members), h.Sum32()&0xffffff)
	bt.Pool, bt.Pools, bt.Deps = pool, nil, nil
	bt.Inputs, bt.Outputs = nil, nil
	seenIn, seenOut := map[string]bool{}, map[string]bool{}
	for _, m := range members {
		for _, p := range m.Inputs {
			if !seenIn[p] {
				seenIn[p] = true
				bt.Inputs = append(bt.Inputs, p)
			}
		}
		for _, p := range m.Outputs {
			if !seenOut[p] {
				seenOut[p] = true
				bt.Outputs = append(bt.Outputs, p)
			}
		}
	}
	return bt
}

func (l *loop) launchBatch(ctx context.Context, members []*graph.Task, pool string) {
	bt := batchTask(members, pool)
	l.plan.running++
	if pool != "" {
		l.plan.free[pool]--
		l.plan.inPool[bt.ID] = pool
	}
	attempt := 0
	for _, m := range members {
		r := l.plan.reports[m.ID]
		r.Status = Running
		r.Attempts++
		r.Pool = pool
		attempt = max(attempt, r.Attempts)
	}
	l.batches[bt] = members
	l.started[bt.ID] = l.now()
	l.obs.Started(bt, attempt)
	l.goRun(func() finished { return finished{bt, attempt, l.opt.Runner.Run(ctx, bt, attempt)} })
}

// reapBatch gives a batch's result to each member.
func (l *loop) reapBatch(f finished, members []*graph.Task) {
	delete(l.batches, f.t)
	l.plan.release(f.t)
	delete(l.started, f.t.ID)
	share := f.res.Duration / timeDiv(len(members))
	for _, m := range members {
		r := l.plan.reports[m.ID]
		r.Result = f.res
		r.Result.Duration, r.Result.Saved = share, f.res.Saved/timeDiv(len(members)) // each member's part
		r.Busy += share
	}
	if f.res.OK() {
		l.obs.Finished(f.t, f.attempt, f.res, false)
		for _, m := range members {
			l.plan.done(m)
			st := OK
			if f.res.Cached {
				st = Cached
			}
			for _, u := range l.plan.succeed(m, st) {
				l.push(u)
			}
		}
		return
	}
	retry, delay := l.decideRetry(f)
	l.obs.Finished(f.t, f.attempt, f.res, retry)
	for _, m := range members {
		if retry {
			l.plan.reports[m.ID].Status = Pending
			l.scheduleRetry(m, delay)
			continue
		}
		st := Failed
		if f.res.Interrupted {
			st = Interrupted
		}
		l.plan.done(m)
		for _, s := range l.plan.fail(m, st, f.res.Describe(m.Timeout)) {
			l.obs.Skipped(s.Task, s.Reason)
		}
	}
	if !retry && !l.opt.KeepGoing {
		l.plan.stopping = true
	}
}
