"""Area, yield and money: golden values from hardware_facts.md section 6."""
import pytest

import codesign as cd
from codesign.model import cost
from conftest import groq_design


def test_groq_die_yield_and_dies_per_wafer(groq):
    assert float(cost.die_area_mm2(groq.chip)) == pytest.approx(725.0, abs=0.5)
    assert float(cost.dies_per_wafer(725.0)) == pytest.approx(72.7, abs=0.1)  # facts table 6.5
    # Negative binomial, alpha 3, D0 = 0.1/cm2: (1 + 7.25 x 0.1 / 3)^-3 = 52.2%
    assert float(cost.die_yield(groq.chip, 725.0)) == pytest.approx((1 + 0.725 / 3) ** -3, rel=1e-6)
    assert float(cost.die_yield(groq.chip, 725.0)) == pytest.approx(0.522, abs=0.001)


def test_unmodified_preset_costs_its_market_price_and_more_sram_costs_more(groq):
    assert float(cost.chip_price_usd(groq.chip)) == pytest.approx(20000.0)
    bigger = cd.specs.replace(groq.chip, sram_bytes=groq.chip.sram_bytes * 1.5)
    assert float(cost.chip_price_usd(bigger)) > 20000.0


def test_jia_capex_and_energy_arithmetic(groq):
    """572 cards x $20,000 = $11.44M; 572 x 185 W over 3 years at $0.274/kWh = ~$762k."""
    system = cd.specs.replace(groq.system, node_cost_usd=0.0, pue=1.0, usd_per_kwh=0.274)
    assert float(cost.capex_usd(groq.chip, system, 572.0, 0.0)) == pytest.approx(11.44e6)
    opex = float(cost.opex_usd_per_year(system, 572 * 185.0))
    assert opex * 3 == pytest.approx(572 * 185.0 * 26_298 * 0.274 / 1000, rel=1e-6)  # 365.25-day years
    assert opex * 3 == pytest.approx(762e3, rel=0.01)


def test_usd_per_million_tokens_definition(groq, llama70b):
    r = cd.evaluate_jit(*groq_design(groq, llama70b, batch=16.0))
    s = groq.system
    served = float(r.throughput_tokens_per_s) * float(s.utilization) * float(s.lifetime_years) * 8766 * 3600
    assert float(r.usd_per_million_tokens) == pytest.approx(float(r.tco_usd) / served * 1e6, rel=1e-5)
    assert float(r.tco_usd) == pytest.approx(float(r.capex_usd) + 3 * float(r.opex_usd_per_year), rel=1e-6)
    assert float(r.power_w) == pytest.approx(float(r.joules_per_token) * float(r.throughput_tokens_per_s), rel=1e-5)
