package handler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/enrich"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/sweep"
)

// elsewhere adds to the live context of a change that widens a managed
// prefix list the groups of the other accounts the sweep covers, in the
// change's Region, whose rules name the list: a list shared through AWS
// RAM opens groups in every account that uses it. It reads them as the
// sweep does (the sweep's role and listing), after the Enricher it wraps.
// An account that cannot be read is named in the finding, which it makes
// louder (detect.Live.Unread); the next sweep judges it.
type elsewhere struct {
	pipeline.Enricher
	h *Handler
}

// elsewhereTimeout bounds the listing of the other accounts for one
// change; elsewhereAtOnce of them are listed at a time.
const (
	elsewhereTimeout = 20 * time.Second
	elsewhereAtOnce  = 4
)

// enricher is the Enricher of events: live context in the function's own
// account, and, when the sweep covers other accounts, what a widened
// prefix list opens in them. nil when live context is off.
func (h *Handler) enricher() pipeline.Enricher {
	switch {
	case h.d.Enricher == nil:
		return nil
	case !h.cfg.Sweep.Enabled || h.d.Sweep == nil || h.cfg.LocalOnly || len(h.cfg.Sweep.Accounts) == 0 && !h.cfg.Sweep.Organization:
		return h.d.Enricher
	}
	return elsewhere{h.d.Enricher, h}
}

func (e elsewhere) Enrich(ctx context.Context, f *detect.Finding) {
	e.Enricher.Enrich(ctx, f)
	if f.Outcome != detect.Succeeded || !f.List.Widens(f.Event.Name) || f.Live == nil {
		return
	}
	targets, err := e.h.targets(ctx, []string{f.Event.Region})
	live := f.Live
	var unread []string
	if err != nil {
		unread = append(unread, "the organization's accounts could not be listed ("+err.Error()+"): the groups of accounts not listed were not read")
	}
	// The Enricher read the function's own account, if the change was made
	// there; a forwarded change's account is read here, as the others are.
	self, _ := functionAccount(ctx, e.h.cfg.TopicARN)
	targets = slices.DeleteFunc(targets, func(t sweep.Target) bool { return t.Account == self && f.Event.AccountID == self })
	read := map[string]bool{}
	ctx, cancel := context.WithTimeout(ctx, elsewhereTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		slot = make(chan struct{}, elsewhereAtOnce)
	)
	for _, t := range targets {
		wg.Go(func() {
			slot <- struct{}{}
			defer func() { <-slot }()
			groups, err := list(ctx, e.h.d.Sweep.Lister, t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				unread = append(unread, fmt.Sprintf("account %s: its groups could not be read (%v); the next sweep judges them", t.Account, err))
				return
			}
			read[t.Account] = true
			for _, g := range groups {
				if !slices.ContainsFunc(g.Rules, func(r detect.Rule) bool { return r.PrefixListID == f.List.ID }) {
					continue
				}
				if live.Groups == nil {
					live.Groups = map[string][]detect.Rule{}
				}
				live.Groups[t.Account+"/"+g.ID] = g.Rules
				// The list as this account read it (a list shared with it),
				// where the function's own account did not.
				for id, l := range g.Lists {
					if _, have := live.Lists[id]; !have {
						if live.Lists == nil {
							live.Lists = map[string]detect.PrefixList{}
						}
						live.Lists[id] = l
					}
				}
			}
		})
	}
	wg.Wait()
	if read[f.Event.AccountID] {
		// What the Enricher could not read in the change's own account was
		// read here.
		live.Unread = slices.DeleteFunc(live.Unread, func(u string) bool { return u == enrich.NotLookedUp(f.Event.AccountID) })
		f.Notes = append(f.Notes, "live context: the groups of account "+f.Event.AccountID+" were read with the sweep's role")
	}
	slices.Sort(unread)
	live.Unread = append(live.Unread, unread...)
	for _, u := range unread {
		f.Notes = append(f.Notes, "live context: "+u)
	}
}

// list lists target t's groups with the sweep's lister.
func list(ctx context.Context, lister func(context.Context, sweep.Target) (sweep.Lister, error), t sweep.Target) ([]sweep.Group, error) {
	l, err := lister(ctx, t)
	if err != nil {
		return nil, err
	}
	return l.Groups(ctx)
}
