// Package v1 is the part of component-base's logs/api/v1 that a
// KubeProxyConfiguration holds: its logging section, with the same Go type
// and package names as the original, so that decoding errors read the same
// (see package v1alpha1).
package v1

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LoggingConfiguration is the logging section (component-base's logs/api/v1
// type).
type LoggingConfiguration struct {
	Format         string               `json:"format,omitempty"`
	FlushFrequency TimeOrMetaDuration   `json:"flushFrequency"`
	Verbosity      VerbosityLevel       `json:"verbosity"`
	VModule        VModuleConfiguration `json:"vmodule,omitempty"`
	Options        FormatOptions        `json:"options,omitempty"`
}

// TimeOrMetaDuration is a duration given as a string ("5s") or as a number
// of nanoseconds; SerializeAsString remembers which.
type TimeOrMetaDuration struct {
	Duration          metav1.Duration
	SerializeAsString bool `json:"-"`
}

// MarshalJSON writes the form it was read in, as component-base's type
// does.
func (t TimeOrMetaDuration) MarshalJSON() ([]byte, error) {
	if t.SerializeAsString {
		return t.Duration.MarshalJSON()
	}
	return json.Marshal(t.Duration.Duration)
}

// UnmarshalJSON reads either form, as component-base's type does.
func (t *TimeOrMetaDuration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		t.SerializeAsString = true
		return json.Unmarshal(b, &t.Duration)
	}
	t.SerializeAsString = false
	var d time.Duration
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("invalid duration %q: %w", string(b), err)
	}
	t.Duration.Duration = d
	return nil
}

// VerbosityLevel is a log verbosity.
type VerbosityLevel uint32

// VModuleConfiguration is a list of per-file verbosities.
type VModuleConfiguration []VModuleItem

// VModuleItem is one file pattern's verbosity.
type VModuleItem struct {
	FilePattern string         `json:"filePattern"`
	Verbosity   VerbosityLevel `json:"verbosity"`
}

// FormatOptions are the options of the log formats.
type FormatOptions struct {
	Text TextOptions `json:"text,omitempty"`
	JSON JSONOptions `json:"json,omitempty"`
}

// TextOptions are the text format's options.
type TextOptions struct {
	OutputRoutingOptions `json:",inline"`
}

// JSONOptions are the JSON format's options.
type JSONOptions struct {
	OutputRoutingOptions `json:",inline"`
}

// OutputRoutingOptions say where log messages go.
type OutputRoutingOptions struct {
	SplitStream    bool                   `json:"splitStream,omitempty"`
	InfoBufferSize resource.QuantityValue `json:"infoBufferSize,omitempty"`
}
