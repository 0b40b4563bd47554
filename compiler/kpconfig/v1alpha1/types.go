// Package v1alpha1 is the kubeproxy.config.k8s.io/v1alpha1
// KubeProxyConfiguration schema, field for field and with the same Go type
// and package names, so that strict decoding accepts and refuses what
// kube-proxy's own type does, with the same messages (the conformance
// module checks this against kube-proxy's type). kube-proxy's package is
// not linked because it pulls in component-base's logging, feature-gate
// and metrics packages, whose start-up work every kubeproxyc run would pay
// for.
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/kubeproxyc/kubeproxyc/compiler/kpconfig/logsv1"
)

// KubeProxyConfiguration is kube-proxy's configuration file.
type KubeProxyConfiguration struct {
	metav1.TypeMeta             `json:",inline"`
	FeatureGates                map[string]bool                 `json:"featureGates,omitempty"`
	ClientConnection            ClientConnectionConfiguration   `json:"clientConnection"`
	Logging                     v1.LoggingConfiguration         `json:"logging,omitempty"`
	HostnameOverride            string                          `json:"hostnameOverride"`
	BindAddress                 string                          `json:"bindAddress"`
	HealthzBindAddress          string                          `json:"healthzBindAddress"`
	MetricsBindAddress          string                          `json:"metricsBindAddress"`
	BindAddressHardFail         bool                            `json:"bindAddressHardFail"`
	EnableProfiling             bool                            `json:"enableProfiling"`
	ShowHiddenMetricsForVersion string                          `json:"showHiddenMetricsForVersion"`
	Mode                        ProxyMode                       `json:"mode"`
	IPTables                    KubeProxyIPTablesConfiguration  `json:"iptables"`
	IPVS                        KubeProxyIPVSConfiguration      `json:"ipvs"`
	NFTables                    KubeProxyNFTablesConfiguration  `json:"nftables"`
	Winkernel                   KubeProxyWinkernelConfiguration `json:"winkernel"`
	DetectLocalMode             LocalMode                       `json:"detectLocalMode"`
	DetectLocal                 DetectLocalConfiguration        `json:"detectLocal"`
	ClusterCIDR                 string                          `json:"clusterCIDR"`
	NodePortAddresses           []string                        `json:"nodePortAddresses"`
	OOMScoreAdj                 *int32                          `json:"oomScoreAdj"`
	Conntrack                   KubeProxyConntrackConfiguration `json:"conntrack"`
	ConfigSyncPeriod            metav1.Duration                 `json:"configSyncPeriod"`
	PortRange                   string                          `json:"portRange"`
	WindowsRunAsService         bool                            `json:"windowsRunAsService,omitempty"`
}

// ProxyMode is the configuration's mode.
type ProxyMode string

// LocalMode is the configuration's detectLocalMode.
type LocalMode string

// KubeProxyIPTablesConfiguration is the iptables section.
type KubeProxyIPTablesConfiguration struct {
	MasqueradeBit      *int32          `json:"masqueradeBit"`
	MasqueradeAll      bool            `json:"masqueradeAll"`
	LocalhostNodePorts *bool           `json:"localhostNodePorts"`
	SyncPeriod         metav1.Duration `json:"syncPeriod"`
	MinSyncPeriod      metav1.Duration `json:"minSyncPeriod"`
}

// KubeProxyIPVSConfiguration is the ipvs section.
type KubeProxyIPVSConfiguration struct {
	SyncPeriod    metav1.Duration `json:"syncPeriod"`
	MinSyncPeriod metav1.Duration `json:"minSyncPeriod"`
	Scheduler     string          `json:"scheduler"`
	ExcludeCIDRs  []string        `json:"excludeCIDRs"`
	StrictARP     bool            `json:"strictARP"`
	TCPTimeout    metav1.Duration `json:"tcpTimeout"`
	TCPFinTimeout metav1.Duration `json:"tcpFinTimeout"`
	UDPTimeout    metav1.Duration `json:"udpTimeout"`
}

// KubeProxyNFTablesConfiguration is the nftables section.
type KubeProxyNFTablesConfiguration struct {
	MasqueradeBit *int32          `json:"masqueradeBit"`
	MasqueradeAll bool            `json:"masqueradeAll"`
	SyncPeriod    metav1.Duration `json:"syncPeriod"`
	MinSyncPeriod metav1.Duration `json:"minSyncPeriod"`
}

// KubeProxyConntrackConfiguration is the conntrack section.
type KubeProxyConntrackConfiguration struct {
	MaxPerCore            *int32           `json:"maxPerCore"`
	Min                   *int32           `json:"min"`
	TCPEstablishedTimeout *metav1.Duration `json:"tcpEstablishedTimeout"`
	TCPCloseWaitTimeout   *metav1.Duration `json:"tcpCloseWaitTimeout"`
	TCPBeLiberal          bool             `json:"tcpBeLiberal"`
	UDPTimeout            metav1.Duration  `json:"udpTimeout"`
	UDPStreamTimeout      metav1.Duration  `json:"udpStreamTimeout"`
}

// KubeProxyWinkernelConfiguration is the winkernel section.
type KubeProxyWinkernelConfiguration struct {
	NetworkName           string `json:"networkName"`
	SourceVip             string `json:"sourceVip"`
	EnableDSR             bool   `json:"enableDSR"`
	RootHnsEndpointName   string `json:"rootHnsEndpointName"`
	ForwardHealthCheckVip bool   `json:"forwardHealthCheckVip"`
}

// DetectLocalConfiguration is the detectLocal section.
type DetectLocalConfiguration struct {
	BridgeInterface     string `json:"bridgeInterface"`
	InterfaceNamePrefix string `json:"interfaceNamePrefix"`
}

// ClientConnectionConfiguration is the clientConnection section
// (component-base's config/v1alpha1 type).
type ClientConnectionConfiguration struct {
	Kubeconfig         string  `json:"kubeconfig"`
	AcceptContentTypes string  `json:"acceptContentTypes"`
	ContentType        string  `json:"contentType"`
	QPS                float32 `json:"qps"`
	Burst              int32   `json:"burst"`
}
