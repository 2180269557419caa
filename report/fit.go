package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// The lists a notification summarises when the finding is too large for one
// SNS message.
const (
	rulesList = iota
	reasonsList
	notesList
	tagsList
	lists
)

// listNames name the lists in summaries.
var listNames = [lists]string{"rules", "reasons", "notes", "tags"}

// share splits budget bytes among lists of item sizes, max-min fair: each
// list gets an equal part, and a list that needs less than its part passes
// the rest on to the others. Each keeps the longest run of its first items
// that fits what it gets, and passes on what they leave of it. What the
// last list leaves goes round once more, smallest need first, each list
// taking its next items while they fit. It returns how many items of each
// list to keep, and is linear in the number of items.
func share(budget int, sizes [lists][]int) [lists]int {
	var keep, need [lists]int
	order := make([]int, 0, lists) // smallest need first
	for i, s := range sizes {
		for _, n := range s {
			need[i] += n
		}
		if len(s) > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(need[a], need[b]) })
	for j, i := range order {
		part := max(budget, 0) / (len(order) - j)
		used := 0
		for _, n := range sizes[i] {
			if used+n > part {
				break
			}
			used += n
			keep[i]++
		}
		budget -= used
	}
	for _, i := range order {
		for keep[i] < len(sizes[i]) && sizes[i][keep[i]] <= budget {
			budget -= sizes[i][keep[i]]
			keep[i]++
		}
	}
	return keep
}

// thousands writes n with a comma between groups of three digits: 1,380.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// limitText names the limit a summary was made for.
var limitText = fmt.Sprintf("SNS's %d KiB message limit", maxMessage/1024)

// undoLeftOut replaces an undo command too large to fit.
var undoLeftOut = "the undo command is left out to fit " + limitText + ": build it from the CloudTrail event"
