import pytest

import codesign as cd


@pytest.fixture(scope="session")
def groq():
    return cd.load_hardware("groq-lpu-v1")


@pytest.fixture(scope="session")
def llama70b():
    return cd.load_model("llama-2-70b")


def groq_design(groq, llama70b, tp=8.0, pp=72.0, batch=1.0, prompt=2048.0, output=256.0, kv="fp16"):
    w = llama70b.workload("int8", kv, "fp16")
    m = cd.Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=batch)
    return groq.chip, groq.system, w, m, cd.Scenario(prompt, output)
