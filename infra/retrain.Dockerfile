# Image of RetrainFunction (template.yaml): the weekly ranker retraining.
# `sam build` builds it with the repository root as the context.
FROM public.ecr.aws/lambda/python:3.12

# LightGBM's wheel links against the system OpenMP runtime.
RUN dnf install -y libgomp && dnf clean all

WORKDIR ${LAMBDA_TASK_ROOT}
COPY pyproject.toml README.md ./
COPY functions ./functions
COPY ranking ./ranking
COPY export ./export
COPY infra ./infra
# The base data the ranker trains and is scored on, with its provenance.
COPY data/README.md ./data/README.md
COPY data/codeforces_submissions ./data/codeforces_submissions
COPY data/neetcode ./data/neetcode
COPY data/a2oj_ladders ./data/a2oj_ladders
RUN pip install --no-cache-dir ".[serving,retrain]"

CMD ["functions.retrain.handler"]
