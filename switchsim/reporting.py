"""Variables FreeSWITCH adds when a channel reaches CS_REPORTING (the CDR part of
CHANNEL_HANGUP_COMPLETE): timestamps, durations and media statistics."""

from __future__ import annotations

import time


def cdr_variables(
    times: dict[str, int],
    end_us: int,
    last_app: str,
    last_arg: str | None,
    caller_id: str,
    cause: str,
    q850: int,
) -> dict[str, str]:
    """The variables FreeSWITCH adds at CS_REPORTING (before CHANNEL_HANGUP_COMPLETE)."""

    def stamp(us: int) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us / 1_000_000))

    start = times["created"]
    answer = times["answered"]
    bridge = times["bridged"]
    progress = times["progress"]
    media = times["progress_media"]
    out: dict[str, str] = {
        "hangup_cause": cause,
        "hangup_cause_q850": str(q850),
        "digits_dialed": "none",
        "start_stamp": stamp(start),
        "profile_start_stamp": stamp(start),
    }
    if answer:
        out["answer_stamp"] = stamp(answer)
    if bridge:
        out["bridge_stamp"] = stamp(bridge)
    if progress:
        out["progress_stamp"] = stamp(progress)
    if media:
        out["progress_media_stamp"] = stamp(media)
    out["end_stamp"] = stamp(end_us)

    def pair(name: str, us: int) -> None:
        out[f"{name}_epoch"] = str(us // 1_000_000)
        out[f"{name}_uepoch"] = str(us)

    pair("start", start)
    pair("profile_start", start)
    pair("answer", answer)
    pair("bridge", bridge)
    pair("last_hold", 0)
    out.update({"hold_accum_seconds": "0", "hold_accum_usec": "0", "hold_accum_ms": "0"})
    pair("resurrect", 0)
    pair("progress", progress)
    pair("progress_media", media)
    pair("end", end_us)
    if last_app:
        out["last_app"] = last_app
    if last_arg:
        out["last_arg"] = last_arg
    out["caller_id"] = caller_id
    dur = end_us - start
    bill = end_us - answer if answer else 0
    prog = progress - start if progress else 0
    ans = answer - start if answer else 0
    wait = ans
    pmed = media - start if media else 0
    out.update(
        {
            "duration": str(dur // 1_000_000),
            "billsec": str(bill // 1_000_000),
            "progresssec": str(prog // 1_000_000),
            "answersec": str(ans // 1_000_000),
            "waitsec": str(wait // 1_000_000),
            "progress_mediasec": str(pmed // 1_000_000),
            "flow_billsec": str(dur // 1_000_000),
            "mduration": str(dur // 1000),
            "billmsec": str(bill // 1000),
            "progressmsec": str(prog // 1000),
            "answermsec": str(ans // 1000),
            "waitmsec": str(wait // 1000),
            "progress_mediamsec": str(pmed // 1000),
            "flow_billmsec": str(dur // 1000),
            "uduration": str(dur),
            "billusec": str(bill),
            "progressusec": str(prog),
            "answerusec": str(ans),
            "waitusec": str(wait),
            "progress_mediausec": str(pmed),
            "flow_billusec": str(dur),
        }
    )
    return out


def rtp_stats(answered_us: int, end_us: int) -> dict[str, str]:
    """Media statistics FreeSWITCH reports for an answered channel (20 ms PCMU frames)."""
    packets = max(0, (end_us - answered_us) // 20_000)
    out_bytes = packets * 172
    stats = {
        "rtp_audio_in_raw_bytes": "0",
        "rtp_audio_in_media_bytes": "0",
        "rtp_audio_in_packet_count": "0",
        "rtp_audio_in_media_packet_count": "0",
        "rtp_audio_in_skip_packet_count": str(packets),
        "rtp_audio_in_jitter_packet_count": "0",
        "rtp_audio_in_dtmf_packet_count": "0",
        "rtp_audio_in_cng_packet_count": "0",
        "rtp_audio_in_flush_packet_count": "0",
        "rtp_audio_in_largest_jb_size": "0",
        "rtp_audio_in_jitter_min_variance": "0.00",
        "rtp_audio_in_jitter_max_variance": "0.00",
        "rtp_audio_in_jitter_loss_rate": "0.00",
        "rtp_audio_in_jitter_burst_rate": "0.00",
        "rtp_audio_in_mean_interval": "0.00",
        "rtp_audio_in_flaw_total": "0",
        "rtp_audio_in_quality_percentage": "100.00",
        "rtp_audio_in_mos": "4.50",
        "rtp_audio_out_raw_bytes": str(out_bytes),
        "rtp_audio_out_media_bytes": str(out_bytes),
        "rtp_audio_out_packet_count": str(packets),
        "rtp_audio_out_media_packet_count": str(packets),
        "rtp_audio_out_skip_packet_count": "0",
        "rtp_audio_out_dtmf_packet_count": "0",
        "rtp_audio_out_cng_packet_count": "0",
        "rtp_audio_rtcp_packet_count": "0",
        "rtp_audio_rtcp_octet_count": "0",
    }
    return stats
