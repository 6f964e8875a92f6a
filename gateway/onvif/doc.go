// Package onvif finds IP cameras on the LAN and asks them for their RTSP
// streams, with the two parts of ONVIF a gateway's setup page needs:
//
//   - WS-Discovery: a Probe for NetworkVideoTransmitter devices, sent by UDP
//     to 239.255.255.250:3702 (or, in tests, any address), and the
//     ProbeMatches that come back, each naming a device's service addresses
//     (XAddrs) and scopes (its name and hardware);
//   - the device and media services, SOAP 1.2 over HTTP: GetCapabilities
//     (where the media service is), GetProfiles (each profile's encoder:
//     codec, resolution, frame rate) and GetStreamUri (the profile's RTSP
//     URL), authenticated with a WS-Security UsernameToken digest.
//
// Everything a camera sends is outside input: a datagram or a response is
// size-checked before it is parsed (MaxDatagram, MaxResponse), lists and
// strings in it are bounded, and what does not fit is an error naming the
// device and the reason, never a panic. encoding/xml expands no external
// entities, so the size bounds are what protect the parser.
//
// A Client talks to one device. The service address a device returns for
// its media service is only followed on the device service's own scheme,
// host and port (the path is kept), so a camera cannot send the gateway's
// requests, and the credentials in them, to another host.
package onvif
