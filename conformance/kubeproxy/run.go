package kubeproxy

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/proxy"
	"k8s.io/kubernetes/pkg/proxy/conntrack"
	"k8s.io/kubernetes/pkg/proxy/healthcheck"
	"k8s.io/kubernetes/pkg/proxy/iptables"
)

// syncPeriod and minSyncPeriod are kube-proxy's defaults. They only drive
// the background sync loop, which never runs here.
const (
	syncPeriod    = 30 * time.Second
	minSyncPeriod = time.Second
)

var (
	// mu serialises runs: the feature gates are process-wide.
	mu       sync.Mutex
	quietLog sync.Once
)

// begin prepares process-wide state for one run; the caller must call the
// returned function when done.
func begin(c *Config) (func(), error) {
	mu.Lock()
	quietLog.Do(func() {
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		_ = fs.Set("logtostderr", "false")
		_ = fs.Set("stderrthreshold", "FATAL")
		klog.SetOutput(io.Discard)
	})
	// The gate is named, not referenced, so that the driver also builds
	// against releases before v1.36, which do not have it.
	const gate = "AllowServiceExternalIPs"
	var err error
	if _, known := utilfeature.DefaultMutableFeatureGate.GetAll()[gate]; known {
		err = utilfeature.DefaultMutableFeatureGate.SetFromMap(map[string]bool{gate: c.AllowServiceExternalIPs})
	} else if !c.AllowServiceExternalIPs {
		err = fmt.Errorf("this kube-proxy has no %s gate", gate)
	}
	if err != nil {
		mu.Unlock()
		return nil, fmt.Errorf("setting feature gates: %w", err)
	}
	return mu.Unlock, nil
}

// feed delivers the objects like kube-proxy's informers: the node's zone,
// every Service, every EndpointSlice, the ServiceCIDRs (nftables), then the
// "synced" notifications. OnServiceSynced does not sync yet (slices are not
// synced); OnEndpointSlicesSynced runs one full sync synchronously.
func feed(p proxy.Provider, c *Config, objs *Objects, serviceCIDRs bool) {
	if c.Zone != "" {
		p.OnTopologyChange(map[string]string{v1.LabelTopologyZone: c.Zone})
	}
	for _, s := range objs.Services {
		p.OnServiceAdd(s)
	}
	for _, s := range objs.Slices {
		p.OnEndpointSliceAdd(s)
	}
	if serviceCIDRs {
		cidrs := c.ServiceCIDRs
		if objs.HasServiceCIDRs {
			cidrs = objs.ServiceCIDRs
		}
		p.OnServiceCIDRsChanged(cidrs)
	}
	p.OnServiceSynced()
	p.OnEndpointSlicesSynced()
}

// IPTables returns the iptables-restore payload of kube-proxy's first full
// sync in iptables mode, in canonical order.
func IPTables(c *Config, objs *Objects) ([]byte, error) {
	done, err := begin(c)
	if err != nil {
		return nil, err
	}
	defer done()
	ipt := newRecordingIPTables(c)
	p, err := iptables.NewProxier(context.Background(), c.Family, ipt, c.sysctl(), syncPeriod, minSyncPeriod,
		c.MasqueradeAll, c.LocalhostNodePorts, c.MasqueradeBit, c.localDetector(), c.Hostname, c.nodeIP(),
		&events.FakeRecorder{}, nil, c.NodePortAddresses, false)
	if err != nil {
		return nil, fmt.Errorf("iptables.NewProxier: %w", err)
	}
	closeNFAcct(p)
	setField(p, "nfacct", newFakeNFAcct(c.NFAcct))
	setField(p, "conntrack", conntrack.NewFake())
	setField(p, "serviceHealthServer", healthcheck.NewFakeServiceHealthServer())
	setField(p, "networkInterfacer", fakeNetwork(c.addresses()))
	rec := newBlockRecorder()
	rec.install(p)

	feed(p, c, objs, false)
	if ipt.last == nil {
		return nil, fmt.Errorf("iptables proxier: the sync did not call iptables-restore")
	}
	return rec.canonical(ipt.last)
}
