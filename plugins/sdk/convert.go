package sdk

import (
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk/pluginpb"
)

func infoToPB(in Info) *pluginpb.Info {
	fs := make([]pluginpb.Format, len(in.Input.Formats))
	for i, f := range in.Input.Formats {
		fs[i] = pluginpb.Format(f)
	}
	return &pluginpb.Info{
		Name: in.Name, Version: in.Version, Labels: in.Labels,
		Input: &pluginpb.Input{Formats: fs, MaxWidth: int32(in.Input.MaxWidth), MaxHeight: int32(in.Input.MaxHeight), Fps: in.Input.FPS},
	}
}

func infoFromPB(p *pluginpb.Info) Info {
	in := Info{Name: p.GetName(), Version: p.GetVersion(), Labels: p.GetLabels()}
	if pi := p.GetInput(); pi != nil {
		in.Input = Input{MaxWidth: int(pi.GetMaxWidth()), MaxHeight: int(pi.GetMaxHeight()), FPS: pi.GetFps()}
		for _, f := range pi.GetFormats() {
			in.Input.Formats = append(in.Input.Formats, Format(f))
		}
	}
	return in
}

func frameToPB(f Frame) *pluginpb.Frame {
	var at int64
	if !f.CapturedAt.IsZero() {
		at = f.CapturedAt.UnixNano()
	}
	return &pluginpb.Frame{
		CameraId: f.CameraID, CapturedAtUnixNanos: at,
		Width: int32(f.Width), Height: int32(f.Height), Format: pluginpb.Format(f.Format),
		Data: f.Data, Params: f.Params,
	}
}

func frameFromPB(p *pluginpb.Frame) Frame {
	f := Frame{
		CameraID: p.GetCameraId(), Width: int(p.GetWidth()), Height: int(p.GetHeight()),
		Format: Format(p.GetFormat()), Data: p.GetData(), Params: p.GetParams(),
	}
	if ns := p.GetCapturedAtUnixNanos(); ns != 0 {
		f.CapturedAt = time.Unix(0, ns)
	}
	return f
}

func detectionsToPB(ds []Detection) *pluginpb.Detections {
	out := &pluginpb.Detections{Detections: make([]*pluginpb.Detection, len(ds))}
	for i, d := range ds {
		out.Detections[i] = &pluginpb.Detection{
			Label: d.Label, Score: d.Score, TrackId: d.TrackID, Attrs: d.Attrs,
			Box: &pluginpb.Box{X: d.Box.X, Y: d.Box.Y, W: d.Box.W, H: d.Box.H},
		}
	}
	return out
}

func detectionsFromPB(p *pluginpb.Detections) []Detection {
	pds := p.GetDetections()
	if len(pds) == 0 {
		return nil
	}
	out := make([]Detection, len(pds))
	for i, pd := range pds {
		b := pd.GetBox()
		out[i] = Detection{
			Label: pd.GetLabel(), Score: pd.GetScore(), TrackID: pd.GetTrackId(), Attrs: pd.GetAttrs(),
			Box: Box{X: b.GetX(), Y: b.GetY(), W: b.GetW(), H: b.GetH()},
		}
	}
	return out
}
