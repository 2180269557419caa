// Package samples lists the inputs sgwatch's tests share: the sample
// EventBridge events in events/ and the real CloudTrail records in
// testdata/cloudtrail/, each with the name its golden files carry.
package samples

import (
	"fmt"
	"path/filepath"
	"strings"
)

// File is one sample input.
type File struct {
	Name string // e.g. events_create-security-group, testdata_cloudtrail_panther-analysis_CreateSecurityGroup-1
	Path string // the file, under the root given to Files
}

// globs are the sample sets, relative to the repository root.
var globs = []string{"events/*.json", "testdata/cloudtrail/*/*.json"}

// Files lists every sample under root, the repository root as seen from the
// caller (".." from a package directory). Each set must have files.
func Files(root string) ([]File, error) {
	var out []File
	for _, glob := range globs {
		paths, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil || len(paths) == 0 {
			return nil, fmt.Errorf("no samples match %s under %s", glob, root)
		}
		for _, p := range paths {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return nil, err
			}
			name := strings.NewReplacer("/", "_", ".json", "").Replace(filepath.ToSlash(rel))
			out = append(out, File{Name: name, Path: p})
		}
	}
	return out, nil
}
