package handler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
)

// fakeHub records imports and fails while err is set.
type fakeHub struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (f *fakeHub) Import(_ context.Context, fd detect.Finding, id string, c report.Caller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.ids = append(f.ids, id+" "+string(fd.Action)+" "+c.Account)
	return nil
}

// TestHubImport: each published finding is imported under its idempotency
// key; a failed import fails the invocation (ImportError) and its retry
// imports without publishing again; without the idempotency table it is
// only logged, since a retry would publish twice.
func TestHubImport(t *testing.T) {
	pub := &fakeSNS{}
	h, logs := newHandler(t, report.Text, pub)
	hb := &fakeHub{err: errors.New("securityhub BatchImportFindings: HTTP 503")}
	h.WithOnce(newFakeOnce()).WithHub(hb)
	ev := event(t, "authorize-ingress-world-ssh")

	err := h.Handle(context.Background(), ev)
	var ie *ImportError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "HTTP 503") || len(pub.got) != 1 {
		t.Fatalf("failed import: %v (%T), %d publishes; want an ImportError after one publish", err, err, len(pub.got))
	}
	hb.err = nil
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(pub.got) != 1 || len(hb.ids) != 1 || hb.ids[0] != "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0 modify 111122223333" {
		t.Fatalf("retry: %d publishes, imports %q", len(pub.got), hb.ids)
	}
	if !strings.Contains(logs.String(), "imported into Security Hub") {
		t.Error("the import is not logged")
	}

	// Without the idempotency table: logged, not retried.
	pub2 := &fakeSNS{}
	h2, logs2 := newHandler(t, report.Text, pub2)
	h2.WithHub(&fakeHub{err: errors.New("AccessDenied")})
	if err := h2.Handle(context.Background(), ev); err != nil || len(pub2.got) != 1 || !strings.Contains(logs2.String(), "not retried") {
		t.Fatalf("without a table: %v, %d publishes, log %s", err, len(pub2.got), logs2.String())
	}

	// A publish that fails is a PublishError, whatever Security Hub does.
	pub3 := &fakeSNS{err: errors.New("SNS down")}
	h3, _ := newHandler(t, report.Text, pub3)
	h3.WithOnce(newFakeOnce()).WithHub(&fakeHub{})
	var pe *PublishError
	if err := h3.Handle(context.Background(), ev); !errors.As(err, &pe) {
		t.Fatalf("failed publish: %v (%T)", err, err)
	}
}

// TestHubSweep: an exposure and its resolution are one Security Hub
// finding (one id).
func TestHubSweep(t *testing.T) {
	l := &groupLister{}
	h, _, _ := sweepHandler(t, SweepConfig{Enabled: true}, l)
	hb := &fakeHub{}
	h.WithHub(hb)
	if err := h.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	if len(hb.ids) != 2 {
		t.Fatalf("imports %q, want the 2 exposures", hb.ids)
	}
	for _, id := range hb.ids {
		if !strings.HasPrefix(id, "sweep/111122223333/eu-west-1/sgr-") || !strings.HasSuffix(id, " exposure 111122223333") {
			t.Errorf("import %q", id)
		}
	}
}
