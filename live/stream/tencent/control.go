package tencent

import (
	"context"
	"encoding/json"
	"fmt"

	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
)

const apiVersion = "2018-08-01"

// Drop cuts the current push of streamName (DropLiveStream).
func (p *Provider) Drop(ctx context.Context, streamName string) error {
	return p.call(ctx, "DropLiveStream", p.streamParams(streamName))
}

// Forbid cuts streamName and refuses it until Resume (ForbidLiveStream; no
// ResumeTime, so the ban lasts until lifted).
func (p *Provider) Forbid(ctx context.Context, streamName, reason string) error {
	params := p.streamParams(streamName)
	if reason != "" {
		params["Reason"] = reason
	}
	return p.call(ctx, "ForbidLiveStream", params)
}

// Resume lifts a Forbid (ResumeLiveStream).
func (p *Provider) Resume(ctx context.Context, streamName string) error {
	return p.call(ctx, "ResumeLiveStream", p.streamParams(streamName))
}

func (p *Provider) streamParams(streamName string) map[string]any {
	return map[string]any{"StreamName": streamName, "AppName": p.cfg.AppName, "DomainName": p.cfg.PushDomain}
}

// call sends one signed API call.
func (p *Provider) call(ctx context.Context, action string, params map[string]any) error {
	if err := checkStream(fmt.Sprint(params["StreamName"])); err != nil {
		return err
	}
	req := tchttp.NewCommonRequest("live", apiVersion, action)
	if err := req.SetActionParameters(params); err != nil {
		return fmt.Errorf("tencent %s: %w", action, err)
	}
	req.SetContext(ctx)
	resp := tchttp.NewCommonResponse()
	if err := p.api.Send(req, resp); err != nil {
		return fmt.Errorf("tencent %s %s: %w", action, params["StreamName"], err)
	}
	var out struct {
		Response struct {
			RequestID string `json:"RequestId"`
		}
	}
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil {
		return fmt.Errorf("tencent %s: decode response: %w", action, err)
	}
	return nil
}
