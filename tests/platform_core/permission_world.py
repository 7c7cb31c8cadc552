"""The objects the permission matrix's URLs point at (``test_permission_matrix.py``): users per
role, a learner inside the catalog import lab, and one row of every model with admin pages."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

REPO = Path(__file__).resolve().parents[2]
IMPORT_LAB_YAML = (
    REPO / "courses/curriculum/03-data-and-experiments/02-data-quality-and-value/module.yaml"
)


class World:
    """The objects the URLs point at, made once."""

    def __init__(self):
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django.utils import timezone
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice
        from rest_framework.authtoken.models import Token

        from catalog.copywriting.models import BannedWord, CopyDraft
        from catalog.knowledge.models import (
            AnswerSummary,
            Article,
            Passage,
            ProductQuestion,
            SupportLabel,
        )
        from catalog.knowledge.services import passages_rebuild
        from catalog.models import DataQualityReport, ImportRun
        from courses import services as course_services
        from courses.models import (
            Attempt,
            Certificate,
            Enrollment,
            LabAttempt,
            LearningPath,
            LearningPathCourse,
            Post,
            QuizGrant,
            Thread,
        )
        from platform_core import services as platform_services
        from platform_core.models import AuditLog
        from platform_core.roles import sync_role_permissions
        from recommend.analytics.models import ServedRequest
        from recommend.insights.models import Segment, ShopperInsight
        from recommend.models import IntentBehaviour
        from recommend.promotions.models import Campaign
        from tests.factories import (
            AlertFactory,
            BoostRuleFactory,
            BrandFactory,
            CategoryFactory,
            CourseFactory,
            EventFactory,
            ExperimentFactory,
            JobFactory,
            JobScheduleFactory,
            LabFactory,
            LessonFactory,
            ModelVersionFactory,
            ModuleFactory,
            PinnedResultFactory,
            ProductFactory,
            QueryLabelFactory,
            QuizFactory,
            SearchLogFactory,
            ShopperFactory,
            StrategyFactory,
            SynonymSetFactory,
            UserFactory,
        )
        from training.models import DataValueReport, Job, JobNotice

        sync_role_permissions()  # every app's permissions exist now; roles get theirs
        self.users = {
            "anon": None,
            "learner": UserFactory(username="learner", role="learner", is_staff=False),
            "lab": UserFactory(username="labber", role="learner", is_staff=False),
            "analyst": UserFactory(username="analyst", role="analyst"),
            "operator": UserFactory(username="operator", role="operator"),
            "super": UserFactory(username="root", is_superuser=True),
        }
        learner = self.users["learner"]

        # Academy: a published course with a lesson, a quiz and the import lab
        course = CourseFactory(slug="search-basics", published=True)
        module = ModuleFactory(course=course, slug="retrieval")
        lesson = LessonFactory(module=module, slug="lexical", order=1)
        quiz = QuizFactory(module=module)
        lab_doc = yaml.safe_load(IMPORT_LAB_YAML.read_text())["lab"]
        lab = LabFactory(
            module=module,
            slug=lab_doc["slug"],
            check_name=lab_doc["check"],
            permissions=list(lab_doc["permissions"]),
        )
        course_services.lab_start(user=self.users["lab"], lab=lab)
        Enrollment.objects.get_or_create(user=learner, course=course)
        attempt = Attempt.objects.create(quiz=quiz, user=learner, number=1, score=50, passed=False)
        grant = QuizGrant.objects.create(quiz=quiz, user=learner, extra_attempts=1)
        thread = Thread.objects.create(lesson=lesson, author=learner, title="How do I?")
        post = Post.objects.create(thread=thread, author=learner, body="Question")
        path = LearningPath.objects.create(slug="merch", title="Merchandising", role="merchandiser")
        LearningPathCourse.objects.create(path=path, course=course, order=1)
        certificate = Certificate.objects.create(
            user=learner,
            course=course,
            code="CERT-0001",
            learner_name="Kim",
            course_title=course.title,
        )
        lab_attempt = LabAttempt.objects.get(user=self.users["lab"], lab=lab)

        # catalog
        category = CategoryFactory(external_id="bags")
        brand = BrandFactory()
        product = ProductFactory(category=category, brand=brand)
        shopper = ShopperFactory()
        event = EventFactory(shopper=shopper, product=product)
        search = SearchLogFactory(shopper=shopper)
        import_run = ImportRun.objects.create(kind="products", source="admin", status="succeeded")
        article = Article.objects.create(
            external_id="returns", title="Returns", body="30 days.", updated=timezone.now()
        )
        question = ProductQuestion.objects.create(
            external_id="q1",
            product=product,
            question="Waterproof?",
            answer="Yes.",
            updated=timezone.now(),
        )
        passages_rebuild()
        support_label = SupportLabel.objects.create(query="where is my parcel", category="shipping")
        answer_summary = AnswerSummary.objects.create(
            query="how do i return an item",
            generator="test",
            text="Within 30 days [1].",
            searches=3,
        )

        # training: an active version (promoting it again is refused) and a finished job
        version = ModelVersionFactory(is_active=True)
        job = JobFactory(status=Job.Status.SUCCEEDED)
        notice = JobNotice.objects.create(
            user=self.users["operator"], job=job, level="info", message="done"
        )
        label = QueryLabelFactory()

        # experiments: an experiment that is neither a draft nor running
        strategy = StrategyFactory()
        experiment = ExperimentFactory(status="stopped")

        # platform
        api_client, _ = platform_services.api_client_create(name="shop", scopes="read")
        audit = AuditLog.objects.create(action="test.entry", actor_name="x")
        alert = AlertFactory()
        target_user = UserFactory(username="target")
        Token.objects.create(user=target_user)
        login = {
            "user_agent": "t",
            "ip_address": "10.0.0.1",
            "username": "kim",
            "http_accept": "*/*",
            "path_info": "/admin/login/",
        }
        access_attempt = AccessAttempt.objects.create(
            **login, get_data="", post_data="", failures_since_start=1
        )
        totp = TOTPDevice.objects.create(user=target_user, name="phone", confirmed=True)
        static = StaticDevice.objects.create(user=target_user, name="backup", confirmed=True)

        self.objects = {
            "auth/group": Group.objects.get(name="analyst"),
            "platform_core/user": target_user,
            "platform_core/apiclient": api_client,
            "platform_core/auditlog": audit,
            "platform_core/alertrule": alert.rule,
            "platform_core/alert": alert,
            "authtoken/tokenproxy": target_user,  # a token proxy's id is its user's
            "catalog/category": category,
            "catalog/brand": brand,
            "catalog/product": product,
            "catalog/shopper": shopper,
            "catalog/event": event,
            "catalog/searchlog": search,
            "catalog/importrun": import_run,
            "knowledge/article": article,
            "knowledge/productquestion": question,
            "knowledge/passage": Passage.objects.filter(article=article).first(),
            "knowledge/supportlabel": support_label,
            "knowledge/answersummary": answer_summary,
            "catalog/dataqualityreport": DataQualityReport.objects.create(),
            "copywriting/copydraft": CopyDraft.objects.create(
                product=product, text="A drafted description.", drafter="template-extractive"
            ),
            "copywriting/bannedword": BannedWord.objects.create(word="miracle"),
            "analytics/servedrequest": ServedRequest.objects.create(
                request_id="perm-world",
                endpoint="search",
                surface="search",
                query="shoes",
                shown=[product.pk],
                result_count=1,
                latency_ms=12.0,
                timestamp=timezone.now(),
            ),
            "insights/segment": (
                segment := Segment.objects.create(
                    label=0,
                    name="Perm world",
                    size=1,
                    conversion_rate=0.0,
                    silhouette=0.5,
                    computed_at=timezone.now(),
                )
            ),
            "insights/shopperinsight": ShopperInsight.objects.create(
                shopper=shopper, segment=segment, computed_at=timezone.now()
            ),
            "training/modelversion": version,
            "training/job": job,
            "training/querylabel": label,
            "training/jobnotice": notice,
            "training/jobschedule": JobScheduleFactory(),
            "training/datavaluereport": DataValueReport.objects.create(
                task="ranker", metric="ndcg@10", baseline=0.5
            ),
            "recommend/strategy": strategy,
            "recommend/intentbehaviour": IntentBehaviour.objects.create(
                strategy=strategy, intent="buy"
            ),
            "recommend/synonymset": SynonymSetFactory(),
            "recommend/pinnedresult": PinnedResultFactory(product=product),
            "recommend/boostrule": BoostRuleFactory(),
            "experiments/experiment": experiment,
            "promotions/campaign": Campaign.objects.create(
                name="Perm world",
                slot="home",
                starts_at=timezone.now(),
                ends_at=timezone.now() + timezone.timedelta(days=7),
            ),
            "courses/course": course,
            "courses/module": module,
            "courses/lesson": lesson,
            "courses/quiz": quiz,
            "courses/lab": lab,
            "courses/learningpath": path,
            "courses/enrollment": Enrollment.objects.get(user=learner, course=course),
            "courses/attempt": attempt,
            "courses/quizgrant": grant,
            "courses/labattempt": lab_attempt,
            "courses/certificate": certificate,
            "courses/thread": thread,
            "courses/post": post,
            "axes/accessattempt": access_attempt,
            "axes/accesslog": AccessLog.objects.create(**login),
            "axes/accessfailurelog": AccessFailureLog.objects.create(**login),
            "otp_totp/totpdevice": totp,
            "otp_static/staticdevice": static,
        }
        self.kwargs = {
            "course_slug": course.slug,
            "module_slug": module.slug,
            "lesson_slug": lesson.slug,
            "number": 1,
            "thread_id": thread.pk,
            "path_slug": path.slug,
            "lab_slug": lab.slug,
            "code": certificate.code,
            "task": "retriever",
            "course_id": course.pk,
            "lesson_id": lesson.pk,
            "id": target_user.pk,
            "content_type_id": ContentType.objects.get_for_model(product).pk,
            "object_id": product.pk,
        }

    def url(self, route: str) -> str:
        """``route`` with its parameters filled in from the objects."""
        if route == "admin/<app_list>":
            return "/admin/catalog/"
        if route == "admin/<catch-all>":
            return "/admin/no-such-page/"
        parts = route.split("/")
        model_key = "/".join(parts[1:3]) if route.startswith("admin/") else None
        out = []
        for part in parts:
            if part.startswith("<") and part.endswith(">"):
                name = part[1:-1].split(":")[-1]
                if name in ("object_id", "pk") and model_key in self.objects:
                    out.append(str(self.objects[model_key].pk))
                elif name in self.kwargs:
                    out.append(str(self.kwargs[name]))
                else:
                    raise KeyError(f"No value for {part} in {route}: add one to World")
            else:
                out.append(part)
        return "/" + "/".join(out)
