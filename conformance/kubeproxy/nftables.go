package kubeproxy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/tools/events"
	"k8s.io/kubernetes/pkg/proxy/conntrack"
	"k8s.io/kubernetes/pkg/proxy/healthcheck"
	"k8s.io/kubernetes/pkg/proxy/nftables"
	"sigs.k8s.io/knftables"
)

// stubNFT is what the "nft" found on PATH answers while
// nftables.NewProxier runs: knftables.New asks for the version and checks
// a transaction. The proxier's knftables interface is replaced by
// knftables.NewFake before anything syncs, so the host's nft and kernel
// are never used.
const stubNFT = "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'nftables v1.1.1 (kubeproxyc conformance stub)'; exit 0; fi\ncat >/dev/null\nexit 0\n"

// withStubNFT runs f with a stub nft first on PATH and the kernel version
// check of the nftables proxier disabled. Callers hold mu.
func withStubNFT(f func() error) error {
	dir, err := os.MkdirTemp("", "kubeproxyc-nft-stub-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "nft"), []byte(stubNFT), 0o755); err != nil {
		return err
	}
	const skip = "KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK"
	oldPath, oldSkip := os.Getenv("PATH"), os.Getenv(skip)
	os.Setenv("PATH", dir)
	os.Setenv(skip, "1")
	defer func() {
		os.Setenv("PATH", oldPath)
		os.Setenv(skip, oldSkip)
	}()
	return f()
}

// NFTables returns kube-proxy's nftables ruleset after its first full sync
// in nftables mode: the knftables.Fake dump of table "ip kube-proxy" (or
// "ip6 kube-proxy"), with the elements of every set and map in string
// order (the proxier adds them in map order; their order means nothing to
// nftables).
func NFTables(c *Config, objs *Objects) ([]byte, error) {
	done, err := begin(c)
	if err != nil {
		return nil, err
	}
	defer done()
	var p *nftables.Proxier
	err = withStubNFT(func() error {
		var err error
		p, err = nftables.NewProxier(context.Background(), c.Family, syncPeriod, minSyncPeriod,
			c.MasqueradeAll, c.MasqueradeBit, c.localDetector(), c.Hostname, c.nodeIP(),
			&events.FakeRecorder{}, nil, c.NodePortAddresses, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nftables.NewProxier: %w", err)
	}
	fam := knftables.IPv4Family
	if c.Family == "IPv6" {
		fam = knftables.IPv6Family
	}
	nft := knftables.NewFake(fam, "kube-proxy")
	setField(p, "nftables", knftables.Interface(nft))
	setField(p, "conntrack", conntrack.NewFake())
	setField(p, "serviceHealthServer", healthcheck.NewFakeServiceHealthServer())
	setField(p, "networkInterfacer", fakeNetwork(c.addresses()))

	feed(p, c, objs, true)
	if nft.LastTransaction == nil {
		return nil, fmt.Errorf("nftables proxier: the sync ran no transaction")
	}
	return []byte(sortElements(nft.Dump())), nil
}

// sortElements sorts each run of "add element" lines of one set or map.
func sortElements(dump string) string {
	lines := strings.SplitAfter(dump, "\n")
	setOf := func(l string) string {
		f := strings.Fields(l) // add element FAMILY TABLE NAME { ... }
		if len(f) < 5 || f[0] != "add" || f[1] != "element" {
			return ""
		}
		return strings.Join(f[2:5], " ")
	}
	for i := 0; i < len(lines); {
		s := setOf(lines[i])
		j := i + 1
		for s != "" && j < len(lines) && setOf(lines[j]) == s {
			j++
		}
		sort.Strings(lines[i:j])
		i = j
	}
	return strings.Join(lines, "")
}
