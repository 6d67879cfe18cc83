"""The scoring service: serves models over gRPC (friendly Predict and the Open Inference Protocol).

Layout (after MLServer): `servicer.py` / `oip_servicer.py` only translate protobuf; `codecs/`
turns payloads into columns and predictions back into payloads; `models/` loads models and keeps
the registry of what is served; `workers/` runs several processes on one port; `follow.py`
moves a served model when its registry alias or stage moves.
"""
