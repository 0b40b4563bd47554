package ir

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

	chains map[string]*NFTChain
	sets   map[string]*NFTSet
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
		chains:  map[string]*NFTChain{},
		sets:    map[string]*NFTSet{},
	}
}

// AddChain returns the regular chain name, adding it if it does not exist.
func (t *NFT) AddChain(name string) *NFTChain {
	if c := t.chains[name]; c != nil {
		return c
	}
	c := &NFTChain{Name: name}
	t.chains[name] = c
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
func (t *NFT) Chain(name string) *NFTChain { return t.chains[name] }

// AddSet returns the set name, adding it with the given type and comment
// if it does not exist.
func (t *NFT) AddSet(name, typ, comment string) *NFTSet {
	return t.addSet(&t.Sets, name, typ, comment)
}

// AddMap returns the map name, adding it with the given type ("KEY :
// VALUE") and comment if it does not exist.
func (t *NFT) AddMap(name, typ, comment string) *NFTSet {
	return t.addSet(&t.Maps, name, typ, comment)
}

func (t *NFT) addSet(list *[]*NFTSet, name, typ, comment string) *NFTSet {
	if s := t.sets[name]; s != nil {
		return s
	}
	s := &NFTSet{Name: name, Type: typ, Comment: comment}
	t.sets[name] = s
	*list = append(*list, s)
	return s
}

// Set returns the named set or map, or nil.
func (t *NFT) Set(name string) *NFTSet { return t.sets[name] }

// AddRule appends a rule to the chain.
func (c *NFTChain) AddRule(origin int32, text, comment string) {
	c.Rules = append(c.Rules, NFTRule{Text: text, Comment: comment, Origin: origin})
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
