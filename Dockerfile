# The application image for compose.yaml: the web app and the worker run from it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app.py ./
COPY core ./core
COPY scheduling ./scheduling
COPY booking ./booking
COPY notifications ./notifications
COPY staff ./staff
COPY web ./web
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system --home /app wizyta
USER wizyta
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["wizyta", "serve"]
