// Package scan reads CloudTrail history at scale for the command line: log
// files, directories (CloudTrail's layout or any other), standard input and
// S3 (through a Tree the caller provides), pruned by time, account and
// Region before reading, streamed one record at a time, in parallel, with
// results in a deterministic order (by source, then by record).
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sgwatch/sgwatch/cloudtrail"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
)

// Tree is a place that holds log files: an S3 bucket (package bucket) or,
// for tests, anything else. Paths are "/"-separated; a folder ends in "/".
type Tree interface {
	// List returns the folders and files directly in the folder dir, each
	// as a full path, in order.
	List(ctx context.Context, dir string) (dirs, files []string, err error)
	// Open opens a file for reading.
	Open(ctx context.Context, file string) (io.ReadCloser, error)
	// Name is how a path is shown: s3://bucket/key.
	Name(path string) string
}

// Trees opens the Tree of an s3:// URL's bucket, and says which folder or
// file of it the URL names.
type Trees func(ctx context.Context, url string) (t Tree, path string, err error)

// Scanner reads sources and passes what they hold through a pipeline.
type Scanner struct {
	Pipeline pipeline.Pipeline
	Filter   Filter
	// Workers is how many sources are read at the same time; 0 is one per
	// CPU, and 16 when any source is in S3 (its reads wait on the network).
	Workers int
	// S3 opens s3:// sources; nil makes them an error.
	S3    Trees
	Stdin io.Reader

	stats Stats
}

// Stats counts what a scan has read so far. Its fields are read while the
// scan runs (for a progress line) through Progress.
type Stats struct {
	Sources  int64 // sources read (files and objects)
	Bytes    int64 // bytes read from them (compressed as stored)
	Records  int64 // values read: records of log files, events
	Calls    int64 // security-group calls among them
	Findings int64 // findings selected by the filter
	Errors   int64 // sources or records that could not be read
	Digests  int64 // digest files and folders skipped
	NotLogs  int64 // other files and folders skipped
	Filtered int64 // files and folders outside the filter, not read
}

// Progress returns the counts so far; safe to call while Run runs.
func (s *Scanner) Progress() Stats {
	st := &s.stats
	return Stats{
		Sources: atomic.LoadInt64(&st.Sources), Bytes: atomic.LoadInt64(&st.Bytes),
		Records: atomic.LoadInt64(&st.Records), Calls: atomic.LoadInt64(&st.Calls),
		Findings: atomic.LoadInt64(&st.Findings), Errors: atomic.LoadInt64(&st.Errors),
		Digests: atomic.LoadInt64(&st.Digests), NotLogs: atomic.LoadInt64(&st.NotLogs),
		Filtered: atomic.LoadInt64(&st.Filtered),
	}
}

// Event is what a scan reports, in order: a finding's result, an error, or
// (for a source named on the command line) the note that it held no
// security-group call.
type Event struct {
	Source string // how the source is shown
	// Named is true for a source named on the command line (a file or
	// stdin), false for one found in a folder or bucket.
	Named  bool
	Result *pipeline.Result
	Err    error
	// NoCalls: the named source was read and held no security-group call.
	NoCalls bool
}

// source is one file or object to read.
type source struct {
	name  string
	named bool
	open  func(ctx context.Context) (io.ReadCloser, error)
	err   error // a path that could not be listed: reported in its place
}

// Run reads every path in order (a file, a directory, "-" for stdin, or an
// s3:// URL) and calls emit for each event, in order, from the calling
// goroutine. It returns the counts when every source has been read.
func (s *Scanner) Run(ctx context.Context, paths []string, emit func(Event)) Stats {
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
		for _, p := range paths {
			if strings.HasPrefix(p, "s3://") {
				workers = max(workers, 16)
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The lister sends each source's slot to the emitter, in order, and
	// the source to a worker; at most 2×workers slots wait to be emitted.
	slots := make(chan *slot, 2*workers)
	jobs := make(chan job)
	go func() {
		defer close(slots)
		defer close(jobs)
		for _, p := range paths {
			if !s.list(ctx, p, func(src source) bool {
				sl := newSlot()
				select {
				case slots <- sl:
				case <-ctx.Done():
					return false
				}
				if src.err != nil {
					sl.put(Event{Source: src.name, Named: src.named, Err: src.err})
					atomic.AddInt64(&s.stats.Errors, 1)
					sl.close()
					return true
				}
				select {
				case jobs <- job{src, sl}:
					return true
				case <-ctx.Done():
					sl.close() // emitted already: the emitter waits on it
					return false
				}
			}) {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				s.read(ctx, j.src, j.slot)
				j.slot.close()
			}
		})
	}
	for sl := range slots {
		sl.drain(emit)
	}
	wg.Wait()
	return s.Progress()
}

type job struct {
	src  source
	slot *slot
}

// slot holds one source's events until the emitter reaches it; then the
// emitter takes them as they come.
type slot struct {
	mu     sync.Mutex
	cond   sync.Cond
	events []Event
	done   bool
}

func newSlot() *slot {
	sl := &slot{}
	sl.cond.L = &sl.mu
	return sl
}

func (sl *slot) put(e Event) {
	sl.mu.Lock()
	sl.events = append(sl.events, e)
	sl.mu.Unlock()
	sl.cond.Signal()
}

func (sl *slot) close() {
	sl.mu.Lock()
	sl.done = true
	sl.mu.Unlock()
	sl.cond.Signal()
}

func (sl *slot) drain(emit func(Event)) {
	for {
		sl.mu.Lock()
		for len(sl.events) == 0 && !sl.done {
			sl.cond.Wait()
		}
		batch, done := sl.events, sl.done
		sl.events = nil
		sl.mu.Unlock()
		for _, e := range batch {
			emit(e)
		}
		if done {
			return
		}
	}
}

// list finds the sources of one path and yields them in order; false from
// yield stops it, and then it returns false.
func (s *Scanner) list(ctx context.Context, path string, yield func(source) bool) bool {
	switch {
	case path == "-":
		in := s.Stdin
		if in == nil {
			in = os.Stdin
		}
		return yield(source{name: "-", named: true, open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(in), nil
		}})
	case strings.HasPrefix(path, "s3://"):
		if s.S3 == nil {
			return yield(source{name: path, named: true, err: errors.New("S3 is not available in this build")})
		}
		t, p, err := s.S3(ctx, path)
		if err != nil {
			return yield(source{name: path, named: true, err: err})
		}
		if p != "" && !strings.HasSuffix(p, "/") { // one object
			return yield(s.treeFile(t, p, true))
		}
		return s.walk(ctx, t, p, yield)
	}
	info, err := os.Stat(path)
	if err != nil {
		return yield(source{name: path, named: true, err: err})
	}
	if !info.IsDir() {
		return yield(fileSource(path, true))
	}
	return s.walk(ctx, &dirTree{seen: map[string]bool{}}, filepath.ToSlash(filepath.Clean(path))+"/", yield)
}

// walk yields the files of the folder dir and of the folders in it, depth
// first in order, skipping what the filter and the layout rule out.
func (s *Scanner) walk(ctx context.Context, t Tree, dir string, yield func(source) bool) bool {
	if ctx.Err() != nil {
		return false
	}
	dirs, files, err := t.List(ctx, dir)
	if err != nil {
		return yield(source{name: t.Name(dir), err: err})
	}
	for _, f := range files {
		if !s.count(s.Filter.File(pathBase(f))) {
			continue
		}
		if !yield(s.treeFile(t, f, false)) {
			return false
		}
	}
	for _, d := range dirs {
		if !s.count(s.Filter.Folder(segments(d))) {
			continue
		}
		if !s.walk(ctx, t, d, yield) {
			return false
		}
	}
	return true
}

// count counts a skip and reports whether to read.
func (s *Scanner) count(k Skip) bool {
	switch k {
	case Digest:
		atomic.AddInt64(&s.stats.Digests, 1)
	case NotLog:
		atomic.AddInt64(&s.stats.NotLogs, 1)
	case Filtered:
		atomic.AddInt64(&s.stats.Filtered, 1)
	}
	return k == Read
}

func (s *Scanner) treeFile(t Tree, f string, named bool) source {
	return source{name: t.Name(f), named: named, open: func(ctx context.Context) (io.ReadCloser, error) {
		return t.Open(ctx, f)
	}}
}

func fileSource(path string, named bool) source {
	return source{name: path, named: named, open: func(context.Context) (io.ReadCloser, error) {
		return os.Open(path)
	}}
}

func segments(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func pathBase(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// dirTree is the local file system as a Tree. Links are followed, to
// folders too, each real folder read once (a loop of links ends there); a
// link that leads nowhere, and a file that is not a regular file (a named
// pipe, a device), is listed so that reading it fails with an error.
type dirTree struct {
	seen map[string]bool // real paths of the folders listed
}

func (t *dirTree) List(_ context.Context, dir string) (dirs, files []string, err error) {
	real, err := filepath.EvalSymlinks(filepath.FromSlash(dir))
	if err != nil {
		return nil, nil, err
	}
	if t.seen[real] {
		return nil, nil, nil // read already, through another path
	}
	t.seen[real] = true
	entries, err := os.ReadDir(filepath.FromSlash(dir))
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries { // ReadDir sorts by name
		p := dir + e.Name()
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			info, err := os.Stat(filepath.FromSlash(p))
			isDir = err == nil && info.IsDir()
		}
		if isDir {
			dirs = append(dirs, p+"/")
		} else {
			files = append(files, p)
		}
	}
	return dirs, files, nil
}

// Open opens a regular file (through links); anything else is an error,
// and a named pipe is never opened (that would wait for a writer).
func (*dirTree) Open(_ context.Context, file string) (io.ReadCloser, error) {
	info, err := os.Stat(filepath.FromSlash(file))
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", info.Mode().Type())
	}
	return os.Open(filepath.FromSlash(file))
}

func (*dirTree) Name(p string) string { return filepath.FromSlash(strings.TrimSuffix(p, "/")) }

// read reads one source into its slot.
func (s *Scanner) read(ctx context.Context, src source, sl *slot) {
	failed, shown := false, 0
	fail := func(err error) {
		failed = true
		atomic.AddInt64(&s.stats.Errors, 1)
		if shown++; shown <= maxErrors {
			sl.put(Event{Source: src.name, Named: src.named, Err: err})
		}
	}
	defer func() {
		if p := recover(); p != nil { // a bug: the source fails, the scan goes on
			fail(fmt.Errorf("internal error: %v", p))
		}
		if shown > maxErrors {
			sl.put(Event{Source: src.name, Named: src.named, Err: fmt.Errorf("%d more errors in this source", shown-maxErrors)})
		}
	}()
	if ctx.Err() != nil {
		return
	}
	rc, err := src.open(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer rc.Close()
	atomic.AddInt64(&s.stats.Sources, 1)
	in, err := cloudtrail.Read(&counter{r: rc, n: &s.stats.Bytes}, detect.MayBeCall)
	if err != nil {
		fail(err)
		return
	}
	scoring := s.Pipeline.Policy.Score
	var records, counted, calls int64
	defer func() {
		atomic.AddInt64(&s.stats.Records, records-counted)
		atomic.AddInt64(&s.stats.Calls, calls)
	}()
	for {
		rec, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var broken *cloudtrail.BrokenError
			if errors.As(err, &broken) {
				err = fmt.Errorf("%w (after %d values; the rest is not read)", err, records)
			}
			fail(err)
			continue
		}
		records++
		if records%4096 == 0 {
			atomic.AddInt64(&s.stats.Records, records-counted)
			counted = records
			if ctx.Err() != nil {
				return
			}
		}
		f, ok := detect.Analyze(&rec, scoring)
		if !ok {
			continue
		}
		calls++
		if !s.Filter.Keep(f) {
			continue
		}
		atomic.AddInt64(&s.stats.Findings, 1)
		for _, r := range s.Pipeline.Process(ctx, []detect.Finding{f}) {
			sl.put(Event{Source: src.name, Named: src.named, Result: &r})
		}
	}
	switch {
	case failed || calls > 0:
	case in.Values() == 0: // CloudTrail never writes an empty log: damage
		fail(cloudtrail.ErrEmpty)
	case src.named:
		sl.put(Event{Source: src.name, Named: true, NoCalls: true})
	}
}

// maxErrors is how many errors one source shows; the rest are counted (in
// Stats.Errors and one last line), and the source is still read to its end.
const maxErrors = 10

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n *int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	atomic.AddInt64(c.n, int64(n))
	return n, err
}
