package ir

import "slices"

// NFT is one nftables table with everything in it: what kube-proxy's
// nftables mode owns on a node ("table ip kube-proxy" or "table ip6
// kube-proxy").
//
// Chains, sets and maps are kept in the order they were first added; the
// renderer sorts them by name, as the dump of the table state does. Rules
// keep their order within their chain. Elements are unique by key within
// their set or map (adding a key again replaces the element, as nft does).
type NFT struct {
	Family  string // "ip" or "ip6"
	Name    string // the table name
	Comment string // the table comment; "" for none

	Chains []*NFTChain
	Sets   []*NFTSet
	Maps   []*NFTSet
	// Origins lists the objects rules and elements came from; the Origin
	// fields index it (1-based; 0 means no single object).
	Origins []Origin

	// chains and sets index Chains[:chainsIndexed], Sets[:setsIndexed]
	// and Maps[:mapsIndexed] by name; NewChain and NewSet append without
	// indexing, and the index catches up on the next lookup.
	chains                                  map[string]*NFTChain
	sets                                    map[string]*NFTSet
	chainsIndexed, setsIndexed, mapsIndexed int

	// Chains, sets and rules are cut from slabs: a big table holds tens
	// of thousands of each, and one allocation apiece would dominate
	// building it.
	chainSlab []NFTChain
	setSlab   []NFTSet
	ruleSlab  []NFTRule
}

// NFTChain is a chain. A base chain has a Type ("filter", "nat"), a Hook
// ("prerouting", ...) and a numeric Priority; a regular chain has Type "".
type NFTChain struct {
	Name     string
	Type     string
	Hook     string
	Priority int
	Comment  string
	Rules    []NFTRule

	t *NFT // the table whose rule slab Rules is cut from, if any
}

// NFTRule is one rule: its statement text (without "add rule FAMILY TABLE
// CHAIN") and an optional comment.
type NFTRule struct {
	Text    string
	Comment string
	Origin  int32
}

// NFTSet is a set (in NFT.Sets) or a map (in NFT.Maps; its Type is
// "KEY : VALUE"). Timeout is in seconds; 0 means none.
type NFTSet struct {
	Name     string
	Type     string
	Flags    []string
	Timeout  int
	Comment  string
	Elements []NFTElement

	index map[string]int
}

// NFTElement is one set or map element. Key and Value are in nft syntax
// ("10.96.0.10 . tcp . 80", "goto service-..."); a set element has no
// Value.
type NFTElement struct {
	Key     string
	Comment string
	Value   string
	Origin  int32
}

// NewNFT returns an empty table.
func NewNFT(family, name, comment string) *NFT {
	return &NFT{
		Family:  family,
		Name:    name,
		Comment: comment,
	}
}

// slabSize is how many chains, sets or rules one slab holds.
const slabSize = 1024

// AddChain returns the regular chain name, adding it if it does not exist.
func (t *NFT) AddChain(name string) *NFTChain {
	if c := t.Chain(name); c != nil {
		return c
	}
	return t.NewChain(name)
}

// NewChain adds the regular chain name, which the table must not have
// yet (CheckNFT reports a chain declared twice): AddChain without the
// lookup, for callers that know their names are new.
func (t *NFT) NewChain(name string) *NFTChain {
	if len(t.chainSlab) == cap(t.chainSlab) {
		t.chainSlab = make([]NFTChain, 0, slabSize)
	}
	t.chainSlab = append(t.chainSlab, NFTChain{Name: name, t: t})
	c := &t.chainSlab[len(t.chainSlab)-1]
	t.Chains = append(t.Chains, c)
	return c
}

// AddBaseChain adds a chain attached to a netfilter hook.
func (t *NFT) AddBaseChain(name, typ, hook string, priority int) *NFTChain {
	c := t.AddChain(name)
	c.Type, c.Hook, c.Priority = typ, hook, priority
	return c
}

// Chain returns the named chain, or nil.
func (t *NFT) Chain(name string) *NFTChain {
	t.index()
	return t.chains[name]
}

// index adds the chains, sets and maps added since the last lookup to
// the name index. The first of two with one name wins, as AddChain and
// AddSet would have returned it.
func (t *NFT) index() {
	if t.chains == nil {
		t.chains = make(map[string]*NFTChain, len(t.Chains))
	}
	for _, c := range t.Chains[t.chainsIndexed:] {
		if t.chains[c.Name] == nil {
			t.chains[c.Name] = c
		}
	}
	t.chainsIndexed = len(t.Chains)
	if t.sets == nil {
		t.sets = make(map[string]*NFTSet, len(t.Sets)+len(t.Maps))
	}
	for _, s := range t.Sets[t.setsIndexed:] {
		if t.sets[s.Name] == nil {
			t.sets[s.Name] = s
		}
	}
	t.setsIndexed = len(t.Sets)
	for _, s := range t.Maps[t.mapsIndexed:] {
		if t.sets[s.Name] == nil {
			t.sets[s.Name] = s
		}
	}
	t.mapsIndexed = len(t.Maps)
}

// AddSet returns the set name, adding it with the given type and comment
// if it does not exist.
func (t *NFT) AddSet(name, typ, comment string) *NFTSet {
	if s := t.Set(name); s != nil {
		return s
	}
	return t.NewSet(name, typ, comment)
}

// NewSet adds the set name, which the table must not have yet as a set
// or map: AddSet without the lookup.
func (t *NFT) NewSet(name, typ, comment string) *NFTSet {
	s := t.newSet(name, typ, comment)
	t.Sets = append(t.Sets, s)
	return s
}

// AddMap returns the map name, adding it with the given type ("KEY :
// VALUE") and comment if it does not exist.
func (t *NFT) AddMap(name, typ, comment string) *NFTSet {
	if s := t.Set(name); s != nil {
		return s
	}
	s := t.newSet(name, typ, comment)
	t.Maps = append(t.Maps, s)
	return s
}

func (t *NFT) newSet(name, typ, comment string) *NFTSet {
	if len(t.setSlab) == cap(t.setSlab) {
		t.setSlab = make([]NFTSet, 0, slabSize)
	}
	t.setSlab = append(t.setSlab, NFTSet{Name: name, Type: typ, Comment: comment})
	return &t.setSlab[len(t.setSlab)-1]
}

// Set returns the named set or map, or nil.
func (t *NFT) Set(name string) *NFTSet {
	t.index()
	return t.sets[name]
}

// AddRule appends a rule to the chain.
func (c *NFTChain) AddRule(origin int32, text, comment string) {
	r := NFTRule{Text: text, Comment: comment, Origin: origin}
	t := c.t
	if t == nil {
		c.Rules = append(c.Rules, r)
		return
	}
	// The chain's rules sit in the rule slab, with no room after them
	// (their capacity ends at their length, so that an append elsewhere
	// copies them out instead of overwriting a neighbour). When they are
	// the last rules cut from the slab, the new one goes right after
	// them; otherwise they move to the slab's end first.
	n, used := len(c.Rules), len(t.ruleSlab)
	if n > 0 && used > 0 && used < cap(t.ruleSlab) && &c.Rules[n-1] == &t.ruleSlab[used-1] {
		t.ruleSlab = append(t.ruleSlab, r)
		c.Rules = t.ruleSlab[used-n : used+1 : used+1]
		return
	}
	if cap(t.ruleSlab)-used < n+1 {
		t.ruleSlab = make([]NFTRule, 0, max(slabSize, 2*(n+1)))
		used = 0
	}
	t.ruleSlab = append(append(t.ruleSlab, c.Rules...), r)
	c.Rules = t.ruleSlab[used : used+n+1 : used+n+1]
}

// Grow makes room for n more elements.
func (s *NFTSet) Grow(n int) {
	s.Elements = slices.Grow(s.Elements, n)
	if s.index == nil {
		s.index = make(map[string]int, len(s.Elements)+n)
	}
}

// AddElement adds an element, replacing an element with the same key.
func (s *NFTSet) AddElement(e NFTElement) {
	if s.index == nil {
		s.index = map[string]int{}
	}
	if i, ok := s.index[e.Key]; ok {
		s.Elements[i] = e
		return
	}
	s.index[e.Key] = len(s.Elements)
	s.Elements = append(s.Elements, e)
}
