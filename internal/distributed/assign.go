package distributed

import (
	"cmp"
	"slices"
)

// This file is the leader's assignment: which member runs which task. It
// is a pure function of what each member runs now and what should run, so
// it is tested by tables alone.
//
// Invariants it keeps:
//   - Sticky: a task stays on the member that runs it, unless that member
//     holds more than its share or the task is no longer wanted.
//   - Revoke, then assign: a task a member must give up is only dropped
//     from its assignment this round (the member stops it and rejoins);
//     it is assigned to another member in a later round, once no member
//     reports it running. Two live members never run one task.
//   - One version at a time: no task of a connector's new task set is
//     assigned while any member still runs a task of an older set (their
//     partitions may be split differently).
//   - A connector none of whose tasks runs anywhere starts fresh: the
//     leader fences every id it ever had before assigning (Plan.Fence), so
//     a zombie of an older set cannot write alongside the new one.

// TaskRef is one task of one version of a connector's task set.
type TaskRef struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
	Version   int64  `json:"version"`
}

func (t TaskRef) key() taskKey { return taskKey{t.Connector, t.Task} }

type taskKey struct {
	connector string
	task      int
}

// MemberTasks is one member and the tasks it reports running.
type MemberTasks struct {
	ID      string
	Running []TaskRef
}

// Wanted is one connector whose tasks should run (target STARTED or
// PAUSED) with its committed task set.
type Wanted struct {
	Connector string
	Version   int64
	Tasks     int
}

// Plan is one round's assignment.
type Plan struct {
	// Assign is every member's tasks for this round, sorted.
	Assign map[string][]TaskRef
	// Rejoin marks the members that must stop tasks they run and then
	// rejoin, so the withheld tasks can be assigned.
	Rejoin map[string]bool
	// Fence lists the connectors that start fresh this round.
	Fence []string
	// Withheld counts the wanted tasks not assigned this round.
	Withheld int
}

func compareRefs(a, b TaskRef) int {
	return cmp.Or(cmp.Compare(a.Connector, b.Connector), cmp.Compare(a.Task, b.Task))
}

// assign computes a round's plan. members must be non-empty.
func assign(members []MemberTasks, wanted []Wanted) Plan {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	want := map[string]Wanted{}
	total := 0
	for _, c := range wanted {
		want[c.Connector] = c
		total += c.Tasks
	}
	plan := Plan{Assign: map[string][]TaskRef{}, Rejoin: map[string]bool{}}
	for _, id := range ids {
		plan.Assign[id] = []TaskRef{}
	}

	// Keep what each member runs of the wanted task sets, once; note the
	// connectors that still run anywhere, and those with an old version.
	owner := map[taskKey]string{}
	runsAnywhere := map[string]bool{}
	stale := map[string]bool{}
	byID := map[string]MemberTasks{}
	for _, m := range members {
		byID[m.ID] = m
	}
	for _, id := range ids {
		running := slices.Clone(byID[id].Running)
		slices.SortFunc(running, compareRefs)
		for _, t := range running {
			runsAnywhere[t.Connector] = true
			w, ok := want[t.Connector]
			switch {
			case !ok || t.Version != w.Version || t.Task >= w.Tasks:
				if ok {
					stale[t.Connector] = true
				}
				plan.Rejoin[id] = true
			case owner[t.key()] != "":
				plan.Rejoin[id] = true // run twice: the first member keeps it
			default:
				owner[t.key()] = id
				plan.Assign[id] = append(plan.Assign[id], t)
			}
		}
	}

	// Shares: every member gets floor(total/n) tasks, the first
	// total%n members (by load, then id) one more. Members above their
	// share give up their last tasks (revoked this round).
	n := len(ids)
	load := func(id string) int { return len(plan.Assign[id]) }
	order := slices.Clone(ids)
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(load(b), load(a)) })
	share := map[string]int{}
	for i, id := range order {
		share[id] = total / n
		if i < total%n {
			share[id]++
		}
	}
	for _, id := range ids {
		if extra := load(id) - share[id]; extra > 0 {
			kept := plan.Assign[id]
			for _, t := range kept[len(kept)-extra:] {
				delete(owner, t.key())
			}
			plan.Assign[id] = kept[:len(kept)-extra]
			plan.Rejoin[id] = true
		}
	}

	// Give out the unowned tasks of connectors whose tasks may start:
	// the least loaded member first.
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w := want[name]
		if stale[name] {
			for i := range w.Tasks {
				if owner[taskKey{name, i}] == "" {
					plan.Withheld++
				}
			}
			continue
		}
		fresh := !runsAnywhere[name]
		for i := range w.Tasks {
			k := taskKey{name, i}
			if owner[k] != "" {
				continue
			}
			if wasRevoked(members, k) {
				plan.Withheld++ // still running on a member that gives it up this round
				continue
			}
			// The member furthest below its share; on a tie, the one with
			// fewer tasks of this connector, so a connector spreads out.
			to := ids[0]
			for _, id := range ids[1:] {
				d, dt := load(id)-share[id], load(to)-share[to]
				if d < dt || d == dt && countOf(plan.Assign[id], name) < countOf(plan.Assign[to], name) {
					to = id
				}
			}
			owner[k] = to
			plan.Assign[to] = append(plan.Assign[to], TaskRef{Connector: name, Task: i, Version: w.Version})
		}
		if fresh && w.Tasks > 0 {
			plan.Fence = append(plan.Fence, name)
		}
	}
	for id := range plan.Assign {
		slices.SortFunc(plan.Assign[id], compareRefs)
	}
	return plan
}

func countOf(ts []TaskRef, connector string) int {
	n := 0
	for _, t := range ts {
		if t.Connector == connector {
			n++
		}
	}
	return n
}

// wasRevoked reports whether some member runs task k now (it is being
// revoked from it this round, since it has no owner in the plan).
func wasRevoked(members []MemberTasks, k taskKey) bool {
	for _, m := range members {
		for _, t := range m.Running {
			if t.key() == k {
				return true
			}
		}
	}
	return false
}
