# The app with the local model: QwQ-32B in 4-bit on one NVIDIA GPU (48 GB class),
# Gradio on port 7860. See "Deployment" in README.md.
#
#   docker build -t deepsearch .
#   docker run --gpus all -p 7860:7860 -e TAVILY_API_KEY=... -v hf-cache:/data/hf deepsearch
#
# The same image is the scale-out front end: point it at a vLLM/SGLang server
# and it needs no GPU at all.
#
#   docker run -p 7860:7860 -e OPENAI_API_KEY=... deepsearch \
#     python app.py --host 0.0.0.0 --port 7860 --backend openai \
#       --base-url http://vllm:8000/v1 --model Qwen/QwQ-32B-AWQ
FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/data/hf \
    PYTHON_DOTENV_DISABLED=1
# (settings and keys come from `docker run -e ...`, not from a .env file)

# Python 3.11, as on the Space (README front matter: python_version "3.11").
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY requirements.txt .
# PyPI's Linux torch wheels are CUDA builds that bundle their own CUDA runtime; the
# host driver must be new enough for it. For another CUDA build pass e.g.
#   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126
ARG TORCH_INDEX=""
RUN pip install ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} \
        "torch==$(sed -n 's/^torch==\([^ ;#]*\).*/\1/p' requirements.txt)" \
    && pip install -r requirements.txt

# Only what the app needs (no .venv, .git or tests in the image).
COPY app.py ./
COPY agent ./agent
COPY ui ./ui
COPY assets ./assets

# Not root; the Hugging Face cache (weights) lives on a volume so it survives rebuilds.
RUN useradd --create-home --uid 1000 user && mkdir -p /data/hf && chown -R user /data/hf
USER user
VOLUME /data/hf
EXPOSE 7860

CMD ["python", "app.py", "--host", "0.0.0.0", "--port", "7860"]
