package onvif

import (
	"strings"
	"testing"
)

func FuzzParseProbeMatches(f *testing.F) {
	f.Add([]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:RelatesTo>urn:uuid:1</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:2</a:Address></a:EndpointReference><d:XAddrs>http://10.0.0.2/onvif/device_service</d:XAddrs><d:Scopes>onvif://www.onvif.org/name/A%20B onvif://www.onvif.org/hardware/X</d:Scopes></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`))
	f.Add(Probe("urn:uuid:x"))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa">]><x>&a;</x>`))
	f.Add([]byte(strings.Repeat("<a>", 1000)))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, devs, err := ParseProbeMatches(b)
		if err != nil {
			return
		}
		if len(devs) > MaxMatches {
			t.Fatalf("%d devices", len(devs))
		}
		for _, d := range devs {
			if len(d.XAddrs) > MaxXAddrs || len(d.Scopes) > MaxScopes {
				t.Fatalf("device %+v", d)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	env := `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><env:Body>`
	f.Add(200, []byte(env+`<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>rtsp://h/x</tt:Uri></trt:MediaUri></trt:GetStreamUriResponse></env:Body></env:Envelope>`))
	f.Add(400, []byte(env+`<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code></env:Fault></env:Body></env:Envelope>`))
	f.Add(500, []byte(`<html/>`))
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		var v struct {
			URI string `xml:"http://www.onvif.org/ver10/media/wsdl GetStreamUriResponse>MediaUri>Uri"`
		}
		_ = parseResponse("GetStreamUri", status, b, &v)
	})
}
