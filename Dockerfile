# One image for web, workers and beat (docker-compose.yml runs it with different commands).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
# The CPU build of PyTorch by default; the GPU worker's image sets TORCH_INDEX to a CUDA index.
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX=""
RUN pip install --no-cache-dir ${TORCH_INDEX:+--index-url $TORCH_INDEX} "$TORCH_SPEC" \
 && pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DATABASE_URL=postgresql://x@/x?host=/tmp REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0 || true
EXPOSE 8000
CMD ["gunicorn", "platform_core.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
