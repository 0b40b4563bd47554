package tools

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// DiffReport is the difference between two rulesets, grouped by the
// service port each change belongs to.
type DiffReport struct {
	Old, New string // the two rulesets' names
	// Notes say how the comparison was made (host facts read from a
	// dump, parts left out); they are not differences.
	Notes  []string
	Groups []*DiffGroup // service ports in name order, the node-wide group last
}

// Equal reports whether the rulesets have no difference.
func (r *DiffReport) Equal() bool { return len(r.Groups) == 0 }

// DiffGroup is what changed for one service port.
type DiffGroup struct {
	// ServicePort is "namespace/name:port", or "" for what belongs to the
	// whole node rather than to one service port.
	ServicePort string
	// Status is "added" (only in NEW), "removed" (only in OLD) or
	// "changed".
	Status string
	// OldOrigin and NewOrigin say where the Service was read, when known.
	OldOrigin, NewOrigin string
	Objects              []*ObjectDiff
	Added, Removed       int
}

// ObjectDiff is the change of one chain, set, map or virtual server within
// a group.
type ObjectDiff struct {
	Title  string // "nat chain KUBE-SVC-X"
	Status string // "added", "removed" or "changed"
	// OldHeader and NewHeader are set when the declaration changed.
	OldHeader, NewHeader string
	Lines                []DiffLine
}

// DiffLine is one removed ("-") or added ("+") item.
type DiffLine struct {
	Op   string
	Text string
}

// Diff compares two rulesets of the same mode.
func Diff(old, new *Ruleset) *DiffReport {
	rep := &DiffReport{Old: old.Name, New: new.Name}
	old, new, rep.Notes = align(old, new)
	oldObjs := indexObjects(old)
	newObjs := indexObjects(new)
	keys := map[string]bool{}
	for k := range oldObjs {
		keys[k] = true
	}
	for k := range newObjs {
		keys[k] = true
	}
	groups := map[string]*DiffGroup{}
	group := func(owner string) *DiffGroup {
		g := groups[owner]
		if g == nil {
			g = &DiffGroup{ServicePort: owner, OldOrigin: old.Origins[owner], NewOrigin: new.Origins[owner]}
			groups[owner] = g
		}
		return g
	}
	// presence tells, per owner, whether each side has anything of it.
	oldHas, newHas := ownersPresent(old), ownersPresent(new)
	for _, k := range sortedKeys(keys) {
		o, n := oldObjs[k], newObjs[k]
		ref := o
		if ref == nil {
			ref = n
		}
		var oldItems, newItems []Item
		if o != nil {
			oldItems = o.Items
		}
		if n != nil {
			newItems = n.Items
		}
		if o != nil && n != nil && !ref.Ordered {
			// Items both sides have are equal whoever they are
			// attributed to (a dump cannot attribute set elements that
			// carry no comment); only the rest is grouped.
			oldItems, newItems = dropCommon(oldItems, newItems)
		}
		byOwner := map[string][2][]Item{}
		for _, it := range oldItems {
			p := byOwner[it.Owner]
			p[0] = append(p[0], it)
			byOwner[it.Owner] = p
		}
		for _, it := range newItems {
			p := byOwner[it.Owner]
			p[1] = append(p[1], it)
			byOwner[it.Owner] = p
		}
		objOwner := ref.Owner
		if _, ok := byOwner[objOwner]; !ok {
			byOwner[objOwner] = [2][]Item{}
		}
		for _, owner := range sortedKeys(byOwner) {
			p := byOwner[owner]
			lines := diffItems(ref, p[0], p[1])
			od := &ObjectDiff{Title: ref.Title(), Lines: lines}
			switch {
			case o == nil:
				od.Status = "added"
			case n == nil:
				od.Status = "removed"
			default:
				od.Status = "changed"
			}
			if owner == objOwner && o != nil && n != nil && o.Header != n.Header {
				od.OldHeader, od.NewHeader = o.Header, n.Header
			}
			existenceChange := (o == nil || n == nil) && owner == objOwner
			if len(lines) == 0 && od.OldHeader == "" && !existenceChange {
				continue
			}
			g := group(owner)
			g.Objects = append(g.Objects, od)
			for _, l := range lines {
				if l.Op == "+" {
					g.Added++
				} else {
					g.Removed++
				}
			}
		}
	}
	for _, owner := range sortedKeys(groups) {
		g := groups[owner]
		switch {
		case !oldHas[owner] && newHas[owner]:
			g.Status = "added"
		case oldHas[owner] && !newHas[owner]:
			g.Status = "removed"
		default:
			g.Status = "changed"
		}
		if owner != "" {
			rep.Groups = append(rep.Groups, g)
		}
	}
	if g := groups[""]; g != nil {
		rep.Groups = append(rep.Groups, g)
	}
	return rep
}

// align leaves out what only one side can describe: the built-in iptables
// chains when one side is a kube-proxy payload without them.
func align(old, new *Ruleset) (*Ruleset, *Ruleset, []string) {
	oldB, newB := hasBuiltins(old), hasBuiltins(new)
	if oldB == newB {
		return old, new, nil
	}
	without := old.Name
	if oldB {
		without = new.Name
	}
	note := "built-in chains not compared: " + without + " has none (a kube-proxy payload without --standalone)"
	return dropBuiltins(old), dropBuiltins(new), []string{note}
}

func hasBuiltins(rs *Ruleset) bool {
	for _, o := range rs.Objects {
		if o.Kind == "chain" && builtinChains[o.Name] {
			return true
		}
	}
	return false
}

func dropBuiltins(rs *Ruleset) *Ruleset {
	c := *rs
	c.Objects = nil
	for _, o := range rs.Objects {
		if !(o.Kind == "chain" && builtinChains[o.Name]) {
			c.Objects = append(c.Objects, o)
		}
	}
	return &c
}

// dropCommon removes the items whose text both lists have (as
// multisets).
func dropCommon(a, b []Item) ([]Item, []Item) {
	return minusItems(a, b), minusItems(b, a)
}

// minusItems returns the items of a whose text b does not account for,
// each of b's items accounting for one of a's.
func minusItems(a, b []Item) []Item {
	count := map[string]int{}
	for _, it := range b {
		count[it.Text]++
	}
	var out []Item
	for _, it := range a {
		if count[it.Text] > 0 {
			count[it.Text]--
			continue
		}
		out = append(out, it)
	}
	return out
}

func indexObjects(rs *Ruleset) map[string]*Object {
	m := make(map[string]*Object, len(rs.Objects))
	for _, o := range rs.Objects {
		m[o.key()] = o
	}
	return m
}

func ownersPresent(rs *Ruleset) map[string]bool {
	m := map[string]bool{}
	for _, o := range rs.Objects {
		m[o.Owner] = true
		for _, it := range o.Items {
			m[it.Owner] = true
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diffItems compares one owner's items of one object: in order for
// ordered objects (a longest-common-subsequence edit script), as
// multisets otherwise.
func diffItems(o *Object, a, b []Item) []DiffLine {
	if !o.Ordered {
		return diffMultiset(o, a, b)
	}
	as := make([]string, len(a))
	for i := range a {
		as[i] = a[i].Text
	}
	bs := make([]string, len(b))
	for i := range b {
		bs[i] = b[i].Text
	}
	var out []DiffLine
	for _, e := range editScript(as, bs) {
		switch e.op {
		case '-':
			out = append(out, DiffLine{Op: "-", Text: o.Display(a[e.i])})
		case '+':
			out = append(out, DiffLine{Op: "+", Text: o.Display(b[e.j])})
		}
	}
	return out
}

func diffMultiset(o *Object, a, b []Item) []DiffLine {
	count := map[string]int{}
	for _, it := range a {
		count[it.Text]++
	}
	for _, it := range b {
		count[it.Text]--
	}
	var out []DiffLine
	for _, k := range sortedKeys(count) {
		n := count[k]
		for ; n > 0; n-- {
			out = append(out, DiffLine{Op: "-", Text: o.Display(Item{Text: k})})
		}
		for ; n < 0; n++ {
			out = append(out, DiffLine{Op: "+", Text: o.Display(Item{Text: k})})
		}
	}
	return out
}

type edit struct {
	op   byte // '=', '-', '+'
	i, j int
}

// maxLCSCells bounds the dynamic-programming table of editScript; larger
// middles (after the common prefix and suffix are taken off) are diffed
// as "remove all, add all", which is still correct, only less minimal.
const maxLCSCells = 4 << 20

// editScript returns a shortest edit script turning a into b.
func editScript(a, b []string) []edit {
	var out []edit
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		out = append(out, edit{'=', pre, pre})
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) > maxLCSCells {
		for i := range ma {
			out = append(out, edit{'-', pre + i, 0})
		}
		for j := range mb {
			out = append(out, edit{'+', 0, pre + j})
		}
	} else {
		// lcs[i][j] is the LCS length of ma[i:] and mb[j:].
		w := len(mb) + 1
		lcs := make([]int32, (len(ma)+1)*w)
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			switch {
			case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
				out = append(out, edit{'=', pre + i, pre + j})
				i++
				j++
			case i < len(ma) && (j == len(mb) || lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
				out = append(out, edit{'-', pre + i, 0})
				i++
			default:
				out = append(out, edit{'+', 0, pre + j})
				j++
			}
		}
	}
	for k := 0; k < suf; k++ {
		out = append(out, edit{'=', len(a) - suf + k, len(b) - suf + k})
	}
	return out
}

// groupName is how a report names a group.
func (g *DiffGroup) groupName() string {
	if g.ServicePort == "" {
		return "(node-wide)"
	}
	return g.ServicePort
}

func (g *DiffGroup) origin() string {
	switch {
	case g.OldOrigin != "" && g.NewOrigin != "" && g.OldOrigin != g.NewOrigin:
		return g.OldOrigin + " -> " + g.NewOrigin
	case g.NewOrigin != "":
		return g.NewOrigin
	}
	return g.OldOrigin
}

// summary counts the groups and lines of the report.
func (r *DiffReport) summary() string {
	var added, removed, changed, plus, minus int
	for _, g := range r.Groups {
		plus += g.Added
		minus += g.Removed
		if g.ServicePort == "" {
			continue
		}
		switch g.Status {
		case "added":
			added++
		case "removed":
			removed++
		default:
			changed++
		}
	}
	if r.Equal() {
		return "no differences"
	}
	return fmt.Sprintf("service ports: %d added, %d removed, %d changed; lines: %d added, %d removed", added, removed, changed, plus, minus)
}

// WriteText writes the report as plain text, like a unified diff grouped
// by service port.
func (r *DiffReport) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "--- %s\n+++ %s\n", r.Old, r.New)
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "# %s\n", n)
	}
	for _, g := range r.Groups {
		bw.WriteString("\n")
		bw.WriteString(g.groupName())
		if o := g.origin(); o != "" {
			bw.WriteString(" (" + o + ")")
		}
		fmt.Fprintf(bw, ": %s, +%d -%d\n", g.Status, g.Added, g.Removed)
		for _, od := range g.Objects {
			fmt.Fprintf(bw, "  %s: %s\n", od.Title, od.Status)
			if od.OldHeader != "" || od.NewHeader != "" {
				fmt.Fprintf(bw, "    - declared %s\n    + declared %s\n", od.OldHeader, od.NewHeader)
			}
			for _, l := range od.Lines {
				bw.WriteString("    " + l.Op + " " + l.Text + "\n")
			}
		}
	}
	fmt.Fprintf(bw, "\n%s\n", r.summary())
	return bw.Flush()
}

// WriteMarkdown writes the report for a pull-request comment: a summary
// table, then one collapsible diff block per service port.
func (r *DiffReport) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### kubeproxyc diff\n\n`%s` → `%s`: %s\n", mdCode(r.Old), mdCode(r.New), r.summary())
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "\n> %s\n", n)
	}
	if !r.Equal() {
		bw.WriteString("\n| service port | change | lines added | lines removed |\n|---|---|---:|---:|\n")
		for _, g := range r.Groups {
			fmt.Fprintf(bw, "| `%s` | %s | %d | %d |\n", mdCode(g.groupName()), g.Status, g.Added, g.Removed)
		}
		for _, g := range r.Groups {
			fmt.Fprintf(bw, "\n<details><summary><code>%s</code> %s", htmlEscape(g.groupName()), g.Status)
			if o := g.origin(); o != "" {
				fmt.Fprintf(bw, " (%s)", htmlEscape(o))
			}
			bw.WriteString("</summary>\n\n```diff\n")
			for _, od := range g.Objects {
				fmt.Fprintf(bw, "@@ %s: %s @@\n", od.Title, od.Status)
				if od.OldHeader != "" || od.NewHeader != "" {
					fmt.Fprintf(bw, "- declared %s\n+ declared %s\n", od.OldHeader, od.NewHeader)
				}
				for _, l := range od.Lines {
					bw.WriteString(l.Op + " " + strings.ReplaceAll(l.Text, "```", "'''") + "\n")
				}
			}
			bw.WriteString("```\n\n</details>\n")
		}
	}
	return bw.Flush()
}

func mdCode(s string) string { return strings.ReplaceAll(s, "`", "'") }

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// WriteJSON writes the report as one JSON document.
func (r *DiffReport) WriteJSON(w io.Writer) error {
	type jsonLine struct {
		Op   string `json:"op"`
		Text string `json:"text"`
	}
	type jsonObject struct {
		Object    string     `json:"object"`
		Status    string     `json:"status"`
		OldHeader string     `json:"oldHeader,omitempty"`
		NewHeader string     `json:"newHeader,omitempty"`
		Lines     []jsonLine `json:"lines"`
	}
	type jsonGroup struct {
		ServicePort string       `json:"servicePort"`
		Status      string       `json:"status"`
		OldOrigin   string       `json:"oldOrigin,omitempty"`
		NewOrigin   string       `json:"newOrigin,omitempty"`
		Added       int          `json:"added"`
		Removed     int          `json:"removed"`
		Objects     []jsonObject `json:"objects"`
	}
	doc := struct {
		Old    string      `json:"old"`
		New    string      `json:"new"`
		Equal  bool        `json:"equal"`
		Notes  []string    `json:"notes,omitempty"`
		Groups []jsonGroup `json:"groups"`
	}{Old: r.Old, New: r.New, Equal: r.Equal(), Notes: r.Notes, Groups: []jsonGroup{}}
	for _, g := range r.Groups {
		jg := jsonGroup{ServicePort: g.ServicePort, Status: g.Status, OldOrigin: g.OldOrigin, NewOrigin: g.NewOrigin, Added: g.Added, Removed: g.Removed}
		for _, od := range g.Objects {
			jo := jsonObject{Object: od.Title, Status: od.Status, OldHeader: od.OldHeader, NewHeader: od.NewHeader, Lines: []jsonLine{}}
			for _, l := range od.Lines {
				jo.Lines = append(jo.Lines, jsonLine(l))
			}
			jg.Objects = append(jg.Objects, jo)
		}
		doc.Groups = append(doc.Groups, jg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
