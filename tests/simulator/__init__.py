"""A faithful fake of the OpenAI, Anthropic, Gemini and Ollama HTTP APIs, for tests and bench.

sim = ProviderSimulator(rng_seed=0)
sim.set_fault("openai", Fault(kind="status", status=500))
async with SimulatorServer(sim) as server:
    server.url + "/openai/v1"   # or /anthropic, /gemini, /ollama, /compatible/v1

See README.md here for the endpoints, the modelled behaviour and the faults.
"""

from .app import PROVIDERS, ProviderSimulator
from .faults import Fault, FaultKind
from .recording import RecordedRequest
from .server import SimulatorServer

__all__ = [
    "PROVIDERS",
    "Fault",
    "FaultKind",
    "ProviderSimulator",
    "RecordedRequest",
    "SimulatorServer",
]
