"""Energy per token at three boundaries: chip (accelerators only), node (+ the hosts' share),
facility (node x PUE). Expected values are arithmetic on the preset numbers written out below
(the YAML entries are named) and on the model's own throughput, never a copy of an energy output."""
import pytest

import codesign as cd
from codesign.model.energy import BOUNDARIES, joules_per_token_by_boundary
from codesign.specs import replace

# h100-sxm.yaml: static_power_w 210 (30% of the 700 W TGP), 8 GPUs per node, host_power_w 4,600
# (DGX H100 10.2 kW - 8 x 700 W), pue 1.58. groq-lpu-v1.yaml: static_power_w 64.5 (30% of 215 W),
# 8 cards per GroqNode, host_power_w 500, pue 1.58.
H100 = dict(static=210.0, per_node=8.0, host=4600.0, pue=1.58)
GROQ = dict(static=64.5, per_node=8.0, host=500.0, pue=1.58)
NO_DYNAMIC = dict(pj_per_flop_16bit=0.0, sram_pj_per_byte=0.0, hbm_pj_per_byte=0.0, link_pj_per_byte=0.0)

CASES = [  # hardware, preset numbers, model, weight dtype, tp, pp, batch
    ("h100-sxm", H100, "llama-2-70b", "fp8", 4.0, 1.0, 16.0),  # half a DGX node: host share 0.5
    ("groq-lpu-v1", GROQ, "llama-2-70b", "int8", 8.0, 72.0, 1.0),  # 576 chips = 72 GroqNodes
]


def _evaluate(hw, model, wdt, tp, pp, batch, **chip_changes):
    hwp, md = cd.load_hardware(hw), cd.load_model(model)
    chip = replace(hwp.chip, **chip_changes) if chip_changes else hwp.chip
    return cd.evaluate_jit(chip, hwp.system, md.workload(wdt, "fp16", "fp16"),
                           cd.Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=batch), cd.Scenario(1024.0, 256.0))


def test_boundaries_by_hand_with_plain_numbers():
    # 0.1 J dynamic per token; 8 chips x 210 W static, one node's 4,600 W host, 10,000 tok/s, PUE 1.58.
    e = joules_per_token_by_boundary(cd.load_hardware("h100-sxm").chip, cd.load_hardware("h100-sxm").system,
                                     0.1, 8.0, 1.0, 10_000.0)
    assert tuple(e) == BOUNDARIES == ("chip", "node", "facility")
    assert float(e["chip"]) == pytest.approx(0.1 + 8 * 210 / 10_000, rel=1e-6)  # 0.268
    assert float(e["node"]) == pytest.approx(0.268 + 4600 / 10_000, rel=1e-6)  # 0.728
    assert float(e["facility"]) == pytest.approx(1.58 * 0.728, rel=1e-6)  # 1.15024


@pytest.mark.parametrize("hw,p,model,wdt,tp,pp,batch", CASES)
def test_static_only_energy_by_hand(hw, p, model, wdt, tp, pp, batch):
    """Dynamic coefficients zeroed: chip = chips x static / X, node adds the host share
    (chips / chips per node) x host power / X, facility = PUE x node."""
    r = _evaluate(hw, model, wdt, tp, pp, batch, **NO_DYNAMIC)
    chips, x = tp * pp, float(r.throughput_tokens_per_s)
    chip_j = chips * p["static"] / x
    node_j = chip_j + chips / p["per_node"] * p["host"] / x
    assert float(r.joules_per_token_chip) == pytest.approx(chip_j, rel=1e-5)
    assert float(r.joules_per_token_node) == pytest.approx(node_j, rel=1e-5)
    assert float(r.joules_per_token_facility) == pytest.approx(p["pue"] * node_j, rel=1e-5)


@pytest.mark.parametrize("hw,p,model,wdt,tp,pp,batch", CASES)
def test_boundaries_differ_by_hosts_and_pue(hw, p, model, wdt, tp, pp, batch):
    """With the preset's dynamic energy: node - chip is exactly the host share over the
    throughput; joules_per_token (every existing output) is the node figure."""
    r = _evaluate(hw, model, wdt, tp, pp, batch)
    chips, x = tp * pp, float(r.throughput_tokens_per_s)
    host_j = chips / p["per_node"] * p["host"] / x
    assert float(r.joules_per_token_node) - float(r.joules_per_token_chip) == pytest.approx(host_j, rel=1e-4)
    assert float(r.joules_per_token_facility) == pytest.approx(p["pue"] * float(r.joules_per_token_node), rel=1e-6)
    assert float(r.joules_per_token) == float(r.joules_per_token_node)
    dynamic = float(r.joules_per_token_chip) - chips * p["static"] / x
    assert dynamic > 0  # the accelerators' FLOP/byte/link energy is inside the chip boundary


def test_chip_boundary_ignores_the_host():
    """A meter on the accelerators does not see the host: host power changes node, not chip."""
    hwp, md = cd.load_hardware("h100-sxm"), cd.load_model("llama-2-70b")
    args = (md.workload("fp8", "fp16", "fp16"), cd.Mapping(tp=4.0, pp=1.0, ep=1.0, dp=1.0, batch=16.0),
            cd.Scenario(1024.0, 256.0))
    a = cd.evaluate_jit(hwp.chip, hwp.system, *args)
    b = cd.evaluate_jit(hwp.chip, replace(hwp.system, host_power_w=0.0), *args)
    assert float(b.joules_per_token_chip) == pytest.approx(float(a.joules_per_token_chip), rel=1e-6)
    assert float(b.joules_per_token_node) == pytest.approx(float(a.joules_per_token_chip), rel=1e-6)
    assert float(a.joules_per_token_node) > 1.05 * float(a.joules_per_token_chip)
