// Package export_vigil_plugin_plugin implements vigil:plugin/plugin for the Go example; the
// package name and path are the ones `wit-bindgen go` expects (see ../README.md).
package export_vigil_plugin_plugin

import "wit_component/vigil_plugin_types"

func Info() vigil_plugin_types.PluginInfo {
	return vigil_plugin_types.PluginInfo{
		Name:         "health-endpoint-go",
		Version:      "0.1.0",
		Description:  "GET a JSON health endpoint and map its status field to up/degraded/down",
		Capabilities: []vigil_plugin_types.Capability{vigil_plugin_types.Capability_Http},
	}
}
